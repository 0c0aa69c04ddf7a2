import NIOCore
import NIOPosix
import NIOHTTP1

/// Gateway keys and virtual keys: a request without a valid gateway key (when the gateway has
/// keys) is refused; a virtual key's stored credentials and settings are applied to its options.
struct AccessStage: RequestStage {
    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        let keys = context.gateway.keys.current
        guard !keys.gatewayKeys.isEmpty || context.options.virtualKey != nil else { return try await next(request, context) }
        var options = context.options
        var limited: [LimitedKey] = []
        if !keys.gatewayKeys.isEmpty {
            let presented = try Self.authorize(&options, keys: keys.gatewayKeys)
            if let key = keys.limitedGatewayKeys[presented] { limited.append(key) }
        }
        if let name = options.virtualKey {
            try keys.virtualKeys.apply(name, to: &options)
            if let key = keys.virtualKeys.limitedKey(name) { limited.append(key) }
        }
        guard !limited.isEmpty else { return try await next(request, context.with(options: options)) }

        // Rate limits: each key's windows admit the request or it is refused with 429; a key with
        // a token limit is charged what the provider reports when the request finishes.
        let store = context.gateway.limits
        var verdicts: [LimitVerdict] = []
        for key in limited {
            let verdict = try await Self.admit(key, store: store)
            guard verdict.admitted else { throw verdict.refusal(for: key) }
            verdicts.append(verdict)
            if key.limits.tokensPerMinute != nil {
                options.record?.update { fields in
                    fields.whenFinished.append { finished in
                        store.spend(key, tokens: (finished.tokensIn ?? 0) + (finished.tokensOut ?? 0))
                    }
                }
            }
        }
        var response = try await next(request, context.with(options: options))
        // One set of x-ratelimit-* headers, as OpenAI sends: the first limited key's (the gateway key's).
        for (name, value) in verdicts[0].headers { response.headers.replaceOrAdd(name: name, value: value) }
        return response
    }

    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool {
        context.gateway.keys.current.gatewayKeys.isEmpty && context.options.virtualKey == nil
    }

    /// The store's verdict; a store that cannot answer (Redis down) is the store's policy to settle.
    static func admit(_ key: LimitedKey, store: any LimitStore) async throws(GatewayError) -> LimitVerdict {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        do {
            return try await store.admit(key, on: loop).get()
        } catch {
            throw error as? GatewayError
                ?? GatewayError(status: 503, type: .server, message: "the rate limit store failed: \(error)", code: .limitStoreFailed)
        }
    }

    /// Checks the gateway key in constant time. A key presented as `Authorization: Bearer` is the
    /// gateway's, so it is not forwarded as the provider key (that then comes from a config).
    /// Returns the key presented (to find its limits).
    @discardableResult
    static func authorize(_ options: inout RequestOptions, keys: [String]) throws(GatewayError) -> String {
        func matches(_ presented: String) -> Bool {
            // Every key is compared, so the time does not tell which one came close.
            keys.reduce(false) { found, key in constantTimeEquals(presented, key) || found }
        }
        if let key = options.gatewayKey {
            if matches(key) { return key }
        } else if let bearer = options.apiKey, matches(bearer) {
            options.apiKey = nil
            return bearer
        }
        throw GatewayError(status: 401, type: .authentication,
                           message: "this gateway needs a gateway key: send it as x-portkey-api-key (or as Authorization: Bearer when provider keys come from a config)",
                           param: "x-portkey-api-key", code: .invalidGatewayKey)
    }

}
