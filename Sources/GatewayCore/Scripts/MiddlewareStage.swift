import Logging
import LuaRuntime
import NIOCore
import NIOHTTP1
import Tracing

/// The operator's Lua middleware (`scripts/`): `on_request` may rewrite the body and headers (and
/// so the provider or config), deny, or answer; `on_response`, `on_chunk` and `on_log` see the
/// answer. Requests on routes no middleware hooks pass straight on.
struct MiddlewareStage: RequestStage {
    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool {
        !context.generation.hasRequestMiddleware(for: request.endpoint.rawValue)
    }

    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        guard !passes(request, context: context) else { return try await next(request, context) }
        let gateway = context.gateway
        let generation = context.generation
        var options = context.options
        // Middleware first: it may rewrite the body and headers (and so the provider or config),
        // deny, or answer; its on_response / on_chunk / on_log hooks see the answer.
        let started = ContinuousClock.now
        var request = request
        let decision: MiddlewareDecision
        let session: MiddlewareSession?
        do {
            (decision, session) = try generation.runRequestHooks(MiddlewareRequest(
                endpoint: request.endpoint.rawValue, method: request.method.rawValue, path: request.path,
                headers: request.headers.map { ($0.name.asciiLowercased(), $0.value) },
                body: request.body.map { Array($0.readableBytesView) }))
        } catch {
            gateway.logger.error("middleware failed", metadata: ["error": "\(error.message)"])
            options.record?.trace?.event("middleware", ["switchboard.middleware.decision": "error"])
            throw .script(error)
        }
        if let trace = options.record?.trace {
            let verdict = switch decision {
            case .deny: "deny"
            case .respond: "respond"
            case .proceed: "proceed"
            }
            trace.event("middleware", ["switchboard.middleware.decision": .string(verdict),
                                       "switchboard.middleware.duration_ms": .double(Double((ContinuousClock.now - started).nanoseconds) / 1e6)])
        }
        switch decision {
        case .deny(let status, let message, let type, let code):
            throw GatewayError(status: status, type: type.map(ErrorType.init(rawValue:)) ?? .guardrail, message: message, code: code.map(ErrorCode.init(rawValue:)) ?? .requestDenied)
        case .respond(let status, let body):
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            return GatewayResponse(status: status, headers: headers, body: .buffer(ByteBuffer(bytes: body)))
        case .proceed(let headers, let body):
            request.headers = HTTPHeaders(headers)
            request.body = body.map { ByteBuffer(bytes: $0) }
            options = try gateway.scriptOptions(request.headers, traceID: options.traceID, record: options.record)
        }
        var response = try await next(request, context.with(options: options))
        guard let session else { return response }
        let logger = gateway.logger
        let provider = options.provider
        let endpoint = request.endpoint.rawValue
        let status = response.status
        @Sendable func log(_ body: [UInt8]?, stream: Bool) {
            guard session.hasOnLog else { return }
            let milliseconds = (ContinuousClock.now - started).milliseconds
            if let error = session.onLog(.init(status: status, latencyMilliseconds: milliseconds, provider: provider,
                                               endpoint: endpoint, stream: stream, body: body)) {
                logger.error("middleware on_log failed", metadata: ["error": "\(error.message)"])
                gateway.observer.metrics.scriptFailed(kind: "on_log")
            }
        }
        switch response.body {
        case .buffer(let body):
            var bytes = Array(body.readableBytesView)
            if session.hasOnResponse {
                do {
                    if let rewritten = try session.onResponse(
                        status: response.status, headers: response.headers.map { ($0.name, $0.value) }, body: bytes) {
                        bytes = rewritten
                        response.body = .buffer(ByteBuffer(bytes: rewritten))
                    }
                } catch {
                    logger.error("middleware failed", metadata: ["error": "\(error.message)"])
                    throw .script(error)
                }
            }
            log(bytes, stream: false)
        case .stream(let stream):
            if session.hasOnChunk || session.hasOnLog {
                response.body = .stream(MiddlewareEventStream(upstream: stream, session: session) { _ in log(nil, stream: true) })
            }
        }
        return response
    }
}
