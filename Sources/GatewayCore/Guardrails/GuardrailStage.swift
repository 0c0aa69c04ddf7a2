/// Guardrail hooks from the request's config (`before_request_hooks`, `input_guardrails`, …) run
/// here, before routing, and on the answer after it. Until they exist, a config that names any is
/// refused when it is parsed (``RouteConfig``), so nothing a config asks for is silently skipped;
/// this stage passes every request on.
struct GuardrailStage: RequestStage {
    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        try await next(request, context)
    }
}
