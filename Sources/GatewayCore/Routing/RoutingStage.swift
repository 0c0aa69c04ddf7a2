import NIOHTTP1

/// Routing: through the request's config (inline or named), the default config, or its one
/// provider. Every routed attempt (and the one provider's call) runs ``Gateway/attemptStages``.
/// The last request stage: it always answers.
struct RoutingStage: RequestStage {
    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        try await context.gateway.route(request, context: context)
    }

    /// No config: the request goes to its one provider (``Gateway/attempt(_:context:)``).
    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool {
        context.options.config == nil && !context.gateway.routesByDefaultConfig(context.options)
    }
}

extension Gateway {
    /// Routes a request (also a scripted route's `gw.route` call): by config, or to its one provider.
    nonisolated(nonsending) func route(_ request: IncomingRequest, context: RequestContext) async throws(GatewayError) -> GatewayResponse {
        let options = context.options
        if let text = options.config {
            return try await handleRouted(request, context: context, config: try routeConfig(text, generation: context.generation))
        }
        if options.provider == nil, let store = configs, let name = store.defaultName, let config = store.config(named: name) {
            return try await handleRouted(request, context: context, config: config)
        }
        return try await attempt(request, context: context)
    }

    /// Whether a request without a config of its own goes through the default config.
    func routesByDefaultConfig(_ options: RequestOptions) -> Bool {
        options.provider == nil && configs.flatMap { store in store.defaultName.flatMap(store.config(named:)) } != nil
    }

    /// One attempt through ``Gateway/attemptStages``; its answer names the provider it was for
    /// (a stored answer included), which may not be the one the request named.
    nonisolated(nonsending) func attempt(_ request: IncomingRequest, context: RequestContext) async throws(GatewayError) -> GatewayResponse {
        var response = try await Self.attemptStages.run(request, context: context)
        if let provider = context.options.provider {
            response.headers.replaceOrAdd(name: "x-portkey-provider", value: provider)
        }
        return response
    }
}
