import NIOCore
import NIOHTTP1

/// The response cache of a routed attempt whose target has `cache` set (see
/// ``Gateway/throughCache(_:options:cache:run:)``); other attempts pass on.
struct CacheStage: RequestStage {
    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool { context.cache == nil }

    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        guard !passes(request, context: context) else { return try await next(request, context) }
        return try await context.gateway.throughCache(request, options: context.options, cache: context.cache) {
            () throws(GatewayError) in try await next(request, context)
        }
    }
}
