/// Gateway keys and virtual keys: a request without a valid gateway key (when the gateway has
/// keys) is refused; a virtual key's stored credentials and settings are applied to its options.
struct AccessStage: RequestStage {
    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        let keys = context.gateway.keys.current
        guard !keys.gatewayKeys.isEmpty || context.options.virtualKey != nil else { return try await next(request, context) }
        var options = context.options
        if !keys.gatewayKeys.isEmpty {
            try Self.authorize(&options, keys: keys.gatewayKeys)
        }
        if let name = options.virtualKey {
            try keys.virtualKeys.apply(name, to: &options)
        }
        return try await next(request, context.with(options: options))
    }

    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool {
        context.gateway.keys.current.gatewayKeys.isEmpty && context.options.virtualKey == nil
    }

    /// Checks the gateway key in constant time. A key presented as `Authorization: Bearer` is the
    /// gateway's, so it is not forwarded as the provider key (that then comes from a config).
    static func authorize(_ options: inout RequestOptions, keys: [String]) throws(GatewayError) {
        func matches(_ presented: String) -> Bool {
            // Every key is compared, so the time does not tell which one came close.
            keys.reduce(false) { found, key in constantTimeEquals(presented, key) || found }
        }
        if let key = options.gatewayKey {
            if matches(key) { return }
        } else if let bearer = options.apiKey, matches(bearer) {
            options.apiKey = nil
            return
        }
        throw GatewayError(status: 401, type: .authentication,
                           message: "this gateway needs a gateway key: send it as x-portkey-api-key (or as Authorization: Bearer when provider keys come from a config)",
                           param: "x-portkey-api-key", code: .invalidGatewayKey)
    }

}
