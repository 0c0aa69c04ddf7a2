import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The provider call of a `/v1/realtime` request: the provider script plans it as any other
/// request (`prepare(ctx)` with `ctx.endpoint == "realtime"`, method GET, path `/realtime`, the
/// client's query) and returns the upstream URL and headers; the gateway does the WebSocket
/// handshake there. The answer is a 101 carrying the upgraded upstream (``RealtimeUpstreamLink``),
/// or the upstream's refusal as an HTTP error in the client's shape (retryable by status, so a
/// fallback config moves on as it does for HTTP), or an unreachable upstream's 502.
extension Gateway {
    nonisolated(nonsending) func callRealtime(_ request: IncomingRequest, context requestContext: RequestContext)
        async throws(GatewayError) -> GatewayResponse
    {
        let options = requestContext.options
        let plan = try await planCall(request, context: requestContext)
        var (url, needsLookup) = try upstreamURL(plan: plan, options: options)
        if needsLookup {
            url.connectAddress = try await customHosts.vet(host: url.host, port: url.port)
        }
        var outbound = try upstreamRequest(request, plan: plan, options: options, url: url)
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            throw GatewayError(status: 500, type: .server, message: "a realtime session must start on its connection's event loop (a gateway bug)",
                               code: .pipelineError)
        }
        let sent = sending(plan, options: options, outbound: &outbound)
        let started = NIOLockedValueBox<(any Channel)?>(nil)
        let outcome: RealtimeConnector.Outcome
        do {
            let future = RealtimeConnector.connect(
                outbound, subprotocols: Self.offeredSubprotocols(request.headers), provider: plan.providerID,
                maxFrameBytes: settings.realtimeMaxFrameBytes, connectTimeout: .seconds(10),
                handshakeTimeout: Self.deadline(options).map { $0 - .now() } ?? .seconds(30), on: loop, started: started)
            outcome = try await withTaskCancellationHandler {
                try await future.get()
            } onCancel: {
                started.withLockedValue { $0 }?.close(promise: nil)
            }
        } catch {
            throw mapUpstreamError(error, provider: plan.providerID, url: url, options: options)
        }
        switch outcome {
        case .upgraded(let link):
            responded(plan, options: options, sent: sent, response: .complete(UpstreamHead(status: 101, headers: HTTPHeaders()), ByteBuffer()))
            if Task.isCancelled { link.abandon() }
            var headers = HTTPHeaders()
            if let chosen = link.subprotocol { headers.add(name: "sec-websocket-protocol", value: chosen) }
            return GatewayResponse(status: 101, headers: headers, body: .stream(link))
        case .refused(let head, let body):
            let response = UpstreamResponse.complete(head, body)
            responded(plan, options: options, sent: sent, response: response)
            guard !(200..<300).contains(head.status) else {
                throw GatewayError.upstreamBroken(provider: plan.providerID,
                                                  reason: "it answered the WebSocket upgrade with HTTP \(head.status) instead of 101")
            }
            return try answer(response, to: request, plan: plan, context: requestContext)
        }
    }

    /// The client's `Sec-WebSocket-Protocol` offer, passed to the upstream (whose choice the client
    /// gets back), minus OpenAI's browser-auth entry (`openai-insecure-api-key.<key>`): the
    /// provider key travels in the header the provider script sets, never in a subprotocol.
    static func offeredSubprotocols(_ headers: HTTPHeaders) -> String? {
        let offered = headers[canonicalForm: "sec-websocket-protocol"]
            .map { String($0).trimmingWhitespace() }
            .filter { !$0.isEmpty && !$0.lowercased().hasPrefix("openai-insecure-api-key.") }
        return offered.isEmpty ? nil : offered.joined(separator: ", ")
    }
}
