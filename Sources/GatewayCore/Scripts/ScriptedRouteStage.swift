import LuaRuntime
import NIOHTTP1
import Tracing

/// Scripted routes: a script's `handlers["POST /v1/…"]` answers its own path (calling providers
/// through `gw.route` / `gw.fetch`); every other request passes on.
struct ScriptedRouteStage: RequestStage {
    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        let routes = context.generation.scriptedRoutes
        if request.endpoint == .passthrough, !routes.isEmpty,
           let info = routes["\(request.method.rawValue) /v1\(request.path)"] {
            context.options.record?.trace?.event("scripted_route", ["switchboard.route": .string("\(request.method.rawValue) /v1\(request.path)")])
            return try await context.gateway.runScripted(info, generation: context.generation, request: request,
                                                         options: context.options)
        }
        return try await next(request, context)
    }

    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool {
        let routes = context.generation.scriptedRoutes
        return request.endpoint != .passthrough || routes.isEmpty || routes["\(request.method.rawValue) /v1\(request.path)"] == nil
    }
}
