import GatewayCore
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// `GET /v1/realtime` with `Upgrade: websocket`: the request passes the gateway's stages like any
/// other (keys, virtual keys, configs, the provider script's plan), whose provider call does the
/// upstream WebSocket handshake. Only when the upstream said 101 does the client get its 101; then
/// this connection's HTTP handlers leave the pipeline, NIO's WebSocket upgrader puts its frame
/// codec in, and a ``RealtimeSession`` joins the two sockets. Any other answer is written as an
/// HTTP error, and the connection closes (the request decoder stops after an upgrade request).
///
/// Ordinary requests pay one enum comparison in `dispatch` for this.
extension GatewayConnectionHandler {
    func dispatchRealtime(_ pending: ConnectionStateMachine.Request, context: ChannelHandlerContext) {
        machine.closeAfterAnswer()
        let gateway = shared.gateway
        let maxFrameBytes = gateway.settings.realtimeMaxFrameBytes
        let headers = pending.head.headers
        let traceHeader = headers.first(name: "x-portkey-trace-id")
        guard headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" }) else {
            let error = GatewayError(status: 426, type: .invalidRequest,
                                     message: "/v1/realtime is a WebSocket endpoint: open it with GET and Upgrade: websocket",
                                     code: "websocket_upgrade_required")
            finish(.error(error, traceID: traceHeader))
            observeRejected(pending, error)
            return
        }
        // The client's handshake headers are checked (key, version 13) before anything goes upstream.
        let upgrader = NIOTypedWebSocketServerUpgrader<Void>(
            maxFrameSize: maxFrameBytes, enableAutomaticErrorHandling: true,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() })
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        upgrader.buildUpgradeResponse(channel: context.channel, upgradeRequest: pending.head, initialResponseHeaders: HTTPHeaders())
            .hop(to: context.eventLoop)
            .whenComplete { result in
                switch result {
                case .success(let accept):
                    this.value.startRealtime(pending, accept: accept)
                case .failure(let error):
                    let refusal = GatewayError(status: 400, type: .invalidRequest,
                                               message: "invalid WebSocket handshake (\(error)): send Sec-WebSocket-Key and Sec-WebSocket-Version: 13",
                                               code: "invalid_websocket_handshake")
                    this.value.finish(.error(refusal, traceID: traceHeader))
                    this.value.observeRejected(pending, refusal)
                }
            }
    }

    private func startRealtime(_ pending: ConnectionStateMachine.Request, accept: HTTPHeaders) {
        guard let context else { return }
        let gateway = shared.gateway
        let observer = gateway.observer
        var parsed: RequestOptions
        do {
            parsed = try RequestOptions.parse(pending.head.headers, policy: gateway.settings.hostPolicy)
        } catch {
            finish(.error(error, traceID: pending.head.headers.first(name: "x-portkey-trace-id")))
            observeRejected(pending, error)
            observer.metrics.realtimeSessionEnded(provider: "none", outcome: "refused")
            return
        }
        let record = observer.makeRecord(method: "GET", route: "/v1/realtime", traceID: parsed.traceID, body: nil,
                                         headers: pending.head.headers)
        parsed.record = record
        let options = parsed
        let incoming = IncomingRequest(endpoint: .realtime, method: .GET, path: pending.path, query: pending.query,
                                       headers: pending.head.headers, body: nil)
        let loop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: loop)
        let head = pending.head
        let isolation = loopIsolation(loop)
        task = isolation.assumeIsolated { isolation in Task {
            _ = isolation
            let result: Result<GatewayResponse, GatewayError>
            do throws(GatewayError) {
                result = .success(try await gateway.handle(incoming, options: options))
            } catch {
                result = .failure(error)
            }
            let cancelled = Task.isCancelled
            loop.onLoop { this.value.realtimeAnswered(result, head: head, accept: accept, options: options, record: record, cancelled: cancelled) }
        } }
    }

    private func realtimeAnswered(_ result: Result<GatewayResponse, GatewayError>, head: HTTPRequestHead, accept: HTTPHeaders,
                                  options: RequestOptions, record: RequestRecord, cancelled: Bool) {
        let observer = shared.gateway.observer
        task = nil
        let provider = record.snapshot.provider ?? options.provider ?? "none"
        let response: GatewayResponse
        switch result {
        case .failure(let error):
            finish(.error(error, traceID: options.traceID, provider: options.provider))
            observer.finished(record, status: error.status, errorCode: error.code?.rawValue)
            observer.metrics.realtimeSessionEnded(provider: provider, outcome: "refused")
            return
        case .success(let answer):
            response = answer
        }
        guard response.status == 101, case .stream(let stream) = response.body, let link = stream as? RealtimeUpstreamLink else {
            // An error answer (the upstream refused the upgrade): written as it is.
            if case .stream(let stream) = response.body, let link = stream as? RealtimeUpstreamLink { link.abandon() }
            var body = ByteBuffer()
            if case .buffer(let buffer) = response.body {
                body = buffer
            } else {
                // A wrapper around the link (middleware on a stream) cannot take part in a WebSocket session.
                let error = GatewayError(status: 400, type: .invalidRequest,
                                         message: "/v1/realtime cannot run through middleware that rewrites streams (on_chunk)",
                                         code: "unsupported_for_realtime")
                if case .stream(let wrapped) = response.body {
                    Task { for try await _ in wrapped {} }  // iterating ends the wrapped link: the upstream is closed
                }
                finish(.error(error, traceID: options.traceID, provider: options.provider))
                observer.finished(record, status: error.status, errorCode: error.code?.rawValue)
                observer.metrics.realtimeSessionEnded(provider: provider, outcome: "refused")
                return
            }
            if let context {
                write(status: response.status, headers: response.headers, body: body, context: context)
            }
            observer.finished(record, status: response.status, errorCode: "upstream_refused_upgrade")
            observer.metrics.realtimeSessionEnded(provider: provider, outcome: "refused")
            return
        }
        guard let context, context.channel.isActive, !cancelled, link.channel.eventLoop === context.eventLoop,
              let upstreamRelay = link.claim() else {
            link.abandon()
            observer.finished(record, status: 499, errorCode: "client_closed_request")
            observer.metrics.realtimeSessionEnded(provider: provider, outcome: "client_lost")
            return
        }
        upgradeClient(context: context, head: head, accept: accept, response: response, upstream: upstreamRelay,
                      provider: provider, record: record)
    }

    /// Writes the 101, swaps the HTTP handlers for NIO's WebSocket codec and the relay, and starts
    /// the session.
    private func upgradeClient(context: ChannelHandlerContext, head: HTTPRequestHead, accept: HTTPHeaders, response: GatewayResponse,
                               upstream: RealtimeRelayHandler, provider: String, record: RequestRecord) {
        let observer = shared.gateway.observer
        let metrics = observer.metrics
        var headers = accept
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if lower == "sec-websocket-protocol" || lower == "x-portkey-trace-id" || lower == "x-portkey-provider" {
                headers.replaceOrAdd(name: lower, value: value)
            }
        }
        var bytes = context.channel.allocator.buffer(capacity: 256)
        bytes.writeString("HTTP/1.1 101 Switching Protocols\r\n")
        for (name, value) in headers { bytes.writeString("\(name): \(value)\r\n") }
        bytes.writeString("\r\n")
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)

        let client = RealtimeRelayHandler(side: .client)
        let logger = shared.logger
        let session = RealtimeSession(provider: provider, client: client, upstream: upstream,
                                      onFrame: metrics.realtimeFrameCounter(provider: provider), onEnd: { summary in
            metrics.realtimeSessionClosed()
            metrics.realtimeSessionEnded(provider: provider, outcome: summary.outcome)
            record.update { $0.realtime = summary }
            let lost = summary.outcome == "upstream_lost" || summary.outcome == "client_lost"
            observer.finished(record, status: 101, errorCode: lost ? summary.outcome : nil)
            logger.debug("realtime session ended", metadata: ["provider": "\(provider)", "outcome": "\(summary.outcome)",
                                                              "trace_id": "\(record.traceID)"])
        })
        metrics.realtimeSessionOpened()
        let channel = context.channel
        let clientRelay = NIOLoopBound(client, eventLoop: channel.eventLoop)
        let maxFrameBytes = shared.gateway.settings.realtimeMaxFrameBytes
        let upgrader = NIOTypedWebSocketServerUpgrader<Void>(
            maxFrameSize: maxFrameBytes, enableAutomaticErrorHandling: true,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(clientRelay.value) }
            })
        do {
            let sync = channel.pipeline.syncOperations
            // The request decoder and this handler leave; NIO's upgrader adds the frame encoder,
            // decoder and protocol-error handler, then the relay.
            sync.removeHandler(try sync.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
            task = nil
            exchange = nil
            sync.removeHandler(context: context, promise: nil)
            upgrader.upgrade(channel: channel, upgradeRequest: head).assumeIsolated().whenComplete { result in
                if case .failure(let error) = result {
                    logger.warning("realtime upgrade failed", metadata: ["error": "\(error)"])
                    channel.close(promise: nil)
                }
                session.start()
            }
        } catch {
            logger.warning("realtime upgrade failed", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
            session.start()
        }
    }
}

/// Leaves the pipeline when its connection becomes a realtime WebSocket.
extension GatewayConnectionHandler: RemovableChannelHandler {}
