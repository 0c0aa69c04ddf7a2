/// Where the response cache keeps its answers: in this process (``ResponseCache``, bounded by
/// bytes, least recently used first out), or in Redis (``RedisResponseCache``), shared by every
/// replica. A backend that cannot answer reports a miss: the request goes upstream.
public protocol ResponseCacheBackend: Sendable {
    /// The answer stored under `key` no more than `maxAge` ago.
    nonisolated(nonsending) func cached(_ key: CacheKey, maxAge: Duration) async -> CachedResponse?
    /// Stores a complete 2xx answer; `maxAge` is the storing request's, which a shared backend
    /// uses as the entry's time to live.
    func keep(_ key: CacheKey, _ response: CachedResponse, maxAge: Duration)
    /// The largest answer worth holding (a longer stream is not accumulated).
    var maxBytes: Int { get }
}

extension ResponseCache: ResponseCacheBackend {
    public nonisolated(nonsending) func cached(_ key: CacheKey, maxAge: Duration) async -> CachedResponse? {
        lookup(key, maxAge: maxAge)
    }

    public func keep(_ key: CacheKey, _ response: CachedResponse, maxAge: Duration) {
        store(key, response)
    }
}
