public import LuaRuntime

/// One step of the request pipeline: it answers the request itself, or passes it (perhaps
/// rewritten) to the rest of the chain with `next`, and may change the answer on the way back.
///
/// The chains are assembled in one place, ``Gateway/requestStages`` and ``Gateway/attemptStages``;
/// the README's Architecture section draws them. Modeled on Hummingbird's `MiddlewareProtocol`:
///
/// ```swift
/// struct Stamp: RequestStage {
///     func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next)
///         async throws(GatewayError) -> GatewayResponse {
///         var response = try await next(request, context)
///         response.headers.add(name: "x-stamp", value: "1")
///         return response
///     }
/// }
/// ```
public protocol RequestStage: Sendable {
    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse

    /// Whether this stage adds nothing to this request: it would hand it on through `next`
    /// unchanged and return the answer as it is (the routing stage: to the request's one provider
    /// through the attempt stages). A request every stage passes is served without a task (see
    /// ``Gateway/exchange(_:options:on:)``). The default is `false`, so a new stage is never
    /// skipped by mistake; answer `true` only when `handle` would do exactly that.
    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool
}

extension RequestStage {
    public func passes(_ request: IncomingRequest, context: RequestContext) -> Bool { false }
}

/// What every stage of one request sees, decided once when the request arrives: the options from
/// its headers (with its trace id and log record), the client's dialect, and the script generation
/// it runs on (a reload mid-request does not mix two generations into one request).
///
/// Immutable and shared: a stage passes it on as it is (one reference, not a copy of the options
/// through every stage); one that changes the options passes on ``with(options:cache:)``.
public final class RequestContext: Sendable {
    public let gateway: Gateway
    public let options: RequestOptions
    public let generation: ScriptGeneration
    /// The error shape (and, for streams, the terminal event) the client expects.
    public let dialect: ClientDialect
    /// The response cache setting of the routed target this attempt is for (attempt chain only).
    public let cache: RouteConfig.Cache?
    /// The guardrail and mutator hooks of the routed target this attempt is for (attempt chain only).
    public let hooks: TargetHooks?

    public init(gateway: Gateway, options: RequestOptions, generation: ScriptGeneration, dialect: ClientDialect,
                cache: RouteConfig.Cache? = nil, hooks: TargetHooks? = nil) {
        self.gateway = gateway
        self.options = options
        self.generation = generation
        self.dialect = dialect
        self.cache = cache
        self.hooks = hooks
    }

    /// The same request with other options (a virtual key applied, middleware's rewrite, a routed
    /// target's), and the target's cache setting and hooks.
    public func with(options: RequestOptions, cache: RouteConfig.Cache? = nil, hooks: TargetHooks? = nil) -> RequestContext {
        RequestContext(gateway: gateway, options: options, generation: generation, dialect: dialect, cache: cache, hooks: hooks)
    }
}

/// An ordered list of stages; running it calls the first, whose `next` calls the second, and so on.
/// The last stage must answer: passing the request on from there is a gateway bug, reported as 500.
public struct StageChain: Sendable {
    public let stages: [any RequestStage]

    public init(_ stages: [any RequestStage]) { self.stages = stages }

    public nonisolated(nonsending) func run(_ request: IncomingRequest, context: RequestContext) async throws(GatewayError) -> GatewayResponse {
        try await run(from: 0, request, context)
    }

    nonisolated(nonsending) func run(from index: Int, _ request: IncomingRequest, _ context: RequestContext) async throws(GatewayError)
        -> GatewayResponse
    {
        guard index < stages.count else {
            throw GatewayError(status: 500, type: .server, message: "no stage answered the request (a gateway bug)",
                               code: .pipelineError)
        }
        return try await stages[index].handle(request, context: context, next: Next(chain: self, index: index + 1))
    }

    /// The rest of the chain after a stage; call it like a function.
    public struct Next: Sendable {
        let chain: StageChain
        let index: Int

        public nonisolated(nonsending) func callAsFunction(_ request: IncomingRequest, _ context: RequestContext) async throws(GatewayError)
            -> GatewayResponse
        {
            try await chain.run(from: index, request, context)
        }
    }
}
