import LuaRuntime
import NIOCore
import NIOHTTP1
import Tracing
import Synchronization

extension Gateway {
    /// Endpoints whose answers may be cached: the ones whose answer is a function of the body.
    static let cacheableEndpoints: Set<Endpoint> = [.chatCompletions, .completions, .embeddings, .messages]

    /// One routed attempt through the response cache, when its target has `cache` set:
    /// a fresh stored answer is served without an upstream call (as an event stream when the
    /// request streams), otherwise `run` goes upstream and a complete 2xx answer is stored —
    /// streamed ones once the stream has ended cleanly. Errors are never stored.
    ///
    /// `x-portkey-cache-status` says which: `HIT`, `MISS`, or `REFRESH` when the client sent
    /// `x-portkey-cache-force-refresh: true` (the stored answer is skipped and replaced).
    func throughCache(_ request: IncomingRequest, options: RequestOptions, cache: RouteConfig.Cache?,
                      run: () async throws(GatewayError) -> GatewayResponse) async throws(GatewayError) -> GatewayResponse
    {
        guard let cache, let store = responseCache, request.method == .POST,
              Self.cacheableEndpoints.contains(request.endpoint), let body = request.body,
              let key = CacheKey.make(provider: Self.cacheScope(options), endpoint: request.endpoint.rawValue,
                                      credential: options.apiKey, body: body)
        else { return try await run() }
        let scan = body.withUnsafeReadableBytes { try? JSONScan.scan($0) }
        let streams = scan?.stream == true
        let status: String
        if options.cacheForceRefresh {
            status = "REFRESH"
        } else if let hit = await store.cached(key, maxAge: cache.maxAge), let response = answer(hit, streams: streams, request: request) {
            observer.metrics.cacheLookup("HIT")
            options.record?.trace?.event("cache", ["switchboard.cache": "HIT"])
            options.record?.update { fields in
                fields.cache = "HIT"
                fields.provider = options.provider
                fields.model = fields.model ?? scan?.model
            }
            return response
        } else {
            status = "MISS"
        }
        observer.metrics.cacheLookup(status)
        options.record?.trace?.event("cache", ["switchboard.cache": .string(status)])
        options.record?.update { $0.cache = status }
        var response = try await run()
        response.headers.replaceOrAdd(name: "x-portkey-cache-status", value: status)
        guard (200..<300).contains(response.status) else { return response }
        let contentType = response.headers.first(name: "content-type") ?? "application/json"
        switch response.body {
        case .buffer(let answer):
            guard contentType.lowercased().hasPrefix("application/json") else { return response }
            store.keep(key, CachedResponse(status: response.status, contentType: contentType, body: answer), maxAge: cache.maxAge)
        case .stream(let stream):
            let maxBytes = store.maxBytes
            response.body = .stream(CachingStream(upstream: stream, accumulator: StreamAccumulator(endpoint: request.endpoint, maxBytes: maxBytes)) { body in
                store.keep(key, CachedResponse(status: 200, body: body), maxAge: cache.maxAge)
            })
        }
        return response
    }

    /// A stored answer as the client asked for it: JSON, or replayed as an event stream.
    private func answer(_ hit: CachedResponse, streams: Bool, request: IncomingRequest) -> GatewayResponse? {
        var headers = HTTPHeaders()
        headers.add(name: "x-portkey-cache-status", value: "HIT")
        headers.add(name: "age", value: String(hit.age().components.seconds))
        guard streams else {
            headers.add(name: "content-type", value: hit.contentType)
            return GatewayResponse(status: hit.status, headers: headers, body: .buffer(hit.body))
        }
        guard let body = request.body,
              let events = CacheReplay.events(endpoint: request.endpoint, body: hit.body,
                                              includeUsage: CacheReplay.includeUsage(request: body)) else { return nil }
        headers.add(name: "content-type", value: "text/event-stream")
        headers.add(name: "cache-control", value: "no-cache")
        let stream = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            for event in events { continuation.yield(event) }
            continuation.finish()
        }
        return GatewayResponse(status: hit.status, headers: headers, body: .stream(stream))
    }

    /// What besides the body and credential decides the upstream answer: the provider, its host and
    /// its settings (Azure deployment, API versions, …).
    static func cacheScope(_ options: RequestOptions) -> String {
        var scope = (options.provider ?? "") + "\n" + (options.customHost ?? "")
        for (name, value) in options.settings.sorted(by: { $0.0 < $1.0 }) { scope += "\n" + name + "=" + value }
        return scope
    }

    /// Publishes the cache's size and evictions (called before each metrics scrape).
    public func publishCacheStats() {
        guard let local = responseCache as? ResponseCache else { return }  // a shared cache's size is Redis's
        let stats = local.stats
        let newEvictions = cacheEvictionsPublished.value.withLock { published in
            defer { published = stats.evictions }
            return stats.evictions - published
        }
        observer.metrics.cacheState(bytes: stats.bytes, entries: stats.entries, evictionsSinceLast: newEvictions)
    }
}

/// A 2xx event stream passed through unchanged while a ``StreamAccumulator`` rebuilds the complete
/// answer from it; when the stream ends cleanly and the answer is complete, `store` keeps it.
struct CachingStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let upstream: any AsyncSequence<ByteBuffer, any Error> & Sendable
    let accumulator: StreamAccumulator
    let store: @Sendable (ByteBuffer) -> Void

    func makeAsyncIterator() -> Iterator {
        Iterator(base: UncheckedIterator(upstream.makeAsyncIterator()), accumulator: accumulator, store: store)
    }

    struct Iterator: AsyncIteratorProtocol {
        let base: UncheckedIterator
        var accumulator: StreamAccumulator
        let store: @Sendable (ByteBuffer) -> Void

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else {
                if !accumulator.hasFailed, let body = accumulator.finish() { store(body) }
                return nil
            }
            if !accumulator.hasFailed { accumulator.feed(chunk) }
            return chunk
        }
    }
}

/// A running total already reported, shared by copies of ``Gateway``.
final class PublishedCount: Sendable {
    let value = Mutex(0)
}
