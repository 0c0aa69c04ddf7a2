import FoundationEssentials
import NIOCore
import NIOHTTP1
import LuaRuntime

extension Gateway {
    /// Runs a request through its routing config: every leaf attempt is an ordinary single-provider
    /// request with the target's provider, key, host, settings, timeout and body overrides.
    /// An inline config (JSON) or the name of one in the configs folder.
    func routeConfig(_ text: String, generation: ScriptGeneration) throws(GatewayError) -> RouteConfig {
        if text.utf8.first == UInt8(ascii: "{") {
            if let known = inlineConfigs.config(text, generation: generation.number) { return known }
            let config = try RouteConfig.parse(text, knownProviders: Set(generation.providerIDs), plugins: generation.plugins)
            inlineConfigs.store(text, generation: generation.number, config)
            return config
        }
        guard let store = configs else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "x-portkey-config names a config (\(Self.configNameShown(text))), but this gateway has no configs folder (--configs); send the config JSON inline",
                               param: "x-portkey-config", code: .unknownConfig)
        }
        guard let config = store.config(named: text) else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "unknown config \(Self.configNameShown(text)); known configs: \(store.names.joined(separator: ", "))",
                               param: "x-portkey-config", code: .unknownConfig)
        }
        return config
    }

    /// A config name as an error may echo it: only what could be a file name (anything else, e.g. a
    /// config that is not JSON or is URL-encoded, can hold an `api_key`).
    static func configNameShown(_ text: String) -> String {
        let plausible = text.utf8.count <= 64 && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x2d || byte == 0x5f || byte == 0x2e
        }
        return plausible ? "'\(text)'" : "(not shown: not a config name, and not JSON starting with '{')"
    }

    nonisolated(nonsending) func handleRouted(_ request: IncomingRequest, context: RequestContext, config: RouteConfig) async throws(GatewayError)
        -> GatewayResponse
    {
        let options = context.options
        let input = try conditionInput(request, options: options, needsParams: Self.hasConditional(config.root))
        var executor = RouteExecutor(
            attempt: { target in
                do throws(GatewayError) {
                    let (targetRequest, targetOptions) = try self.attemptRequest(request, options: options, target: target,
                                                                                     configName: config.name)
                    let attempt = context.with(options: targetOptions, cache: target.cache, hooks: target.hooks)
                    return .success(try await Self.firstByteChecked(try await self.attempt(targetRequest, context: attempt)))
                } catch {
                    return .failure(error)
                }
            },
            sleep: { delay in try? await Task.sleep(for: delay) },
            random: { Double.random(in: 0..<1) },
            tuning: settings.retryTuning,
            conditionInput: input)
        executor.cooldown = cooldown
        let metrics = observer.metrics
        executor.observe = { event in
            switch event {
            case .retry(let provider): metrics.retried(provider: provider)
            case .fallback(let provider): metrics.fellBack(from: provider)
            }
        }
        let outcome = await executor.run(config.root)
        options.record?.update { fields in
            fields.target = outcome.path
            fields.retries += outcome.retries
        }
        let routeHeaders = [("x-portkey-last-used-option-index", outcome.path),
                            ("x-portkey-retry-attempt-count", String(outcome.retries))]
        let summary = outcome.log.count > 1 ? "every target failed: " + outcome.log.joined(separator: "; ") : nil
        switch outcome.result {
        case .success(var response):
            if !(200..<300).contains(response.status), let summary, case .buffer = response.body {
                // The client gets the last target's status, with every attempt summarized.
                let error = GatewayError(status: response.status, type: UpstreamErrorBody.type(for: response.status),
                                         message: summary, code: .allTargetsFailed)
                response.body = .buffer(ByteBuffer(bytes: ClientDialect(request.endpoint).errorBody(error)))
                response.headers.replaceOrAdd(name: "content-type", value: "application/json")
            }
            for (name, value) in routeHeaders { response.headers.replaceOrAdd(name: name, value: value) }
            return response
        case .failure(var error):
            if let summary {
                error.message = summary
                error.code = .allTargetsFailed
            }
            error.headers += routeHeaders
            throw error
        }
    }

    /// The request and options of one attempt at a leaf target.
    func attemptRequest(_ request: IncomingRequest, options: RequestOptions, target: RouteConfig.Target,
                        configName: String? = nil) throws(GatewayError) -> (IncomingRequest, RequestOptions)
    {
        var options = options
        options.config = nil
        options.virtualKey = nil
        options.targetPath = target.path
        if let name = target.virtualKey {
            try keys.current.virtualKeys.apply(name, to: &options)
        } else {
            options.provider = target.provider
        }
        if let key = target.apiKey {
            options.apiKey = key
            // A named config's key is the operator's; an inline config's is the client's own.
            options.heldCredential = configName.map {
                HeldCredential(name: "config '\($0)' (\(target.path).api_key)", provider: target.provider, allowsCustomHost: false)
            }
        }
        if let host = target.customHost {
            options.customHost = try settings.hostPolicy.validate(host)
            options.customHostSource = configName == nil ? .client : .namedConfig
        }
        if let forward = target.forwardHeaders { options.forwardHeaders = forward }
        if let timeout = target.requestTimeout { options.timeoutMilliseconds = timeout }
        for (key, value) in target.settings {
            options.settings.removeAll { $0.0 == key }
            options.settings.append((key, value))
            if configName == nil { options.operatorSettings.remove(key) } else { options.operatorSettings.insert(key) }
        }
        if let configName, options.heldCredential == nil, let provider = options.provider,
           let declared = scripts.current.providers[provider]?.credentialSettings,
           let held = target.settings.first(where: { declared.contains($0.0) }) {
            // A credential written in a named config as a provider setting (e.g. an AWS secret).
            options.heldCredential = HeldCredential(name: "config '\(configName)' (\(target.path).\(held.0))",
                                                    provider: provider, allowsCustomHost: false)
        }
        var request = request
        if !target.overrideParams.isEmpty, let body = request.body {
            guard let patched = JSONObjectPatch.apply(target.overrideParams, to: Array(body.readableBytesView)) else {
                throw GatewayError(status: 400, type: .invalidRequest,
                                   message: "override_params of \(target.path) need a JSON object body", code: .invalidJson)
            }
            request.body = ByteBuffer(bytes: patched)
        }
        return (request, options)
    }

    /// `{metadata: <x-portkey-metadata>, params: <body>, url: {pathname}}` for conditions.
    func conditionInput(_ request: IncomingRequest, options: RequestOptions, needsParams: Bool) throws(GatewayError) -> JSONTree {
        var input: [JSONTree.Member] = [.init(key: "url", value: .object([.init(key: "pathname", value: .string("/v1" + request.path))]))]
        if let metadata = options.metadata {
            guard let value = JSONTree.parse(Array(metadata.utf8)), case .object = value else {
                throw GatewayError.invalidHeader("x-portkey-metadata", "expected a JSON object")
            }
            input.append(.init(key: "metadata", value: value))
        }
        if needsParams, let body = request.body {
            if let value = JSONTree.parse(body) {
                input.append(.init(key: "params", value: value))
            } else if request.endpoint.bodyKind == .multipart
                        || request.headers.first(name: "content-type")?.lowercased().hasPrefix("multipart/form-data") == true,
                      let model = try MultipartForm.model(of: request) {
                // An upload's params are its form; conditions read its model, as for a JSON body.
                input.append(.init(key: "params", value: .object([.init(key: "model", value: .string(model))])))
            }
        }
        return .object(input)
    }

    /// Waits for a stream's first chunk before calling the attempt a success, so a stream that
    /// fails before any byte reaches the client still falls back or retries; the chunk is replayed.
    nonisolated(nonsending) static func firstByteChecked(_ response: GatewayResponse) async throws(GatewayError) -> GatewayResponse {
        // 101: a realtime session's upgraded upstream (RealtimeUpstreamLink), handed on as it is.
        guard case .stream(let stream) = response.body, response.status != 101 else { return response }
        var iterator = stream.makeAsyncIterator()
        let first: ByteBuffer?
        do {
            first = try await iterator.next()
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError.upstreamBroken(provider: response.headers.first(name: "x-portkey-provider") ?? "provider",
                                              reason: "the stream failed before its first event")
        }
        var replay = response
        replay.body = .stream(ReplayStream(first: first, rest: UncheckedIterator(iterator)))
        return replay
    }

    static func hasConditional(_ node: RouteConfig.Target) -> Bool {
        node.mode == .conditional || node.targets.contains { hasConditional($0) }
    }
}

/// A stream whose first chunk was already read (to decide on fallback), replayed before the rest.
struct ReplayStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let first: ByteBuffer?
    let rest: UncheckedIterator

    func makeAsyncIterator() -> Iterator { Iterator(first: first, rest: rest) }

    struct Iterator: AsyncIteratorProtocol {
        var first: ByteBuffer?
        let rest: UncheckedIterator

        mutating func next() async throws -> ByteBuffer? {
            if let chunk = first {
                first = nil
                return chunk
            }
            return try await rest.next()
        }
    }
}

/// The underlying iterator, handed from the routing task to the response writer: only one of
/// them uses it at a time (the writer starts after routing returned), which is why it is
/// `@unchecked Sendable`.
final class UncheckedIterator: @unchecked Sendable {
    private var base: any AsyncIteratorProtocol<ByteBuffer, any Error>

    init(_ base: any AsyncIteratorProtocol<ByteBuffer, any Error>) { self.base = base }

    func next() async throws -> ByteBuffer? { try await base.next() }
}
