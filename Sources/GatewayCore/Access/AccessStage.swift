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
        guard !passes(request, context: context) else { return try await next(request, context) }
        var options = context.options
        var named: [LimitedKey] = []
        if !keys.gatewayKeys.isEmpty {
            let presented = try Self.authorize(&options, keys: keys.gatewayKeys)
            if let key = keys.limitedGatewayKeys[presented] { named.append(key) }
        }
        if let name = options.virtualKey {
            try keys.virtualKeys.apply(name, to: &options)
            if let key = keys.virtualKeys.limitedKey(name) { named.append(key) }
        }
        if let perValue = keys.metadataLimits, let key = try perValue.key(metadata: options.metadata) { named.append(key) }
        // The first named key (the gateway key's) is the one the cost metric names.
        if let first = named.first { options.record?.update { $0.chargedKey = first.id } }
        let limited = named.filter(\.isLimited)
        guard !limited.isEmpty else { return try await next(request, context.with(options: options)) }

        // Rate limits and budgets: each key's windows admit the request, and its budget is not
        // spent, or it is refused with 429; a finished request charges its tokens (what the
        // provider reported, streams included) and its cost (by the pricing table).
        let store = context.gateway.limits
        let metrics = context.gateway.observer.metrics
        var verdicts: [LimitVerdict] = []
        for key in limited {
            let check = try await Self.check(key, store: store)
            if let budget = key.budget, let standing = check.budget, standing.spentUSD >= budget.maxUSD {
                metrics.rateLimited(key: key.id, window: "budget")
                throw standing.refusal(for: key, budget: budget)
            }
            if let verdict = check.verdict {
                guard verdict.admitted else {
                    metrics.rateLimited(key: key.id, window: verdict.requests.map { $0.remaining <= 0 } == true ? "requests" : "tokens")
                    throw verdict.refusal(for: key)
                }
                verdicts.append(verdict)
            }
            options.record?.update { fields in
                fields.whenFinished.append { finished in
                    if key.limits.tokensPerMinute != nil {
                        store.spend(key, tokens: (finished.tokensIn ?? 0) + (finished.tokensOut ?? 0))
                    }
                    if key.budget != nil, let cost = finished.costUSD { store.spend(key, usd: cost) }
                }
            }
        }
        var response = try await next(request, context.with(options: options))
        // One set of x-ratelimit-* headers, as OpenAI sends: the first limited key's.
        for (name, value) in verdicts.first?.headers ?? [] { response.headers.replaceOrAdd(name: name, value: value) }
        return response
    }

    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool {
        let keys = context.gateway.keys.current
        return keys.gatewayKeys.isEmpty && context.options.virtualKey == nil
            && (keys.metadataLimits == nil || context.options.metadata == nil)
    }

    /// The store's answer; a store that cannot answer (Redis down) is the store's policy to settle.
    static func check(_ key: LimitedKey, store: any LimitStore) async throws(GatewayError) -> KeyCheck {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        do {
            return try await store.check(key, on: loop).get()
        } catch {
            throw error as? GatewayError
                ?? GatewayError(status: 503, type: .server, message: "the rate limit store failed: \(error)", code: .limitStoreFailed)
        }
    }

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
