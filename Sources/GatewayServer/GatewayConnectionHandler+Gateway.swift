import GatewayCore
import LuaRuntime
import Logging
import NIOCore
import NIOHTTP1

/// The gateway's part of a connection: a complete request goes to ``Gateway/exchange(_:options:on:)``
/// when every stage passes it (chained on the connection's event loop), otherwise to
/// ``Gateway/handle(_:options:)`` in a task isolated to that loop; its answer — whole, or a stream relayed
/// event by event with the client's back-pressure — comes back to the handler's writer.
extension GatewayConnectionHandler {
    /// The route as a metric label: known endpoints and scripted routes by path, any other
    /// `/v1/*` passthrough as one label (clients choose those paths).
    func routeLabel(_ pending: ConnectionStateMachine.Request) -> String {
        switch pending.endpoint {  // literals: no string built per request
        case .chatCompletions: return "/v1/chat/completions"
        case .completions: return "/v1/completions"
        case .embeddings: return "/v1/embeddings"
        case .models: return "/v1/models"
        case .messages: return "/v1/messages"
        case .countTokens: return "/v1/messages/count_tokens"
        case .responses: return "/v1/responses"
        case .imageGenerations: return "/v1/images/generations"
        case .imageEdits: return "/v1/images/edits"
        case .imageVariations: return "/v1/images/variations"
        case .speech: return "/v1/audio/speech"
        case .transcriptions: return "/v1/audio/transcriptions"
        case .translations: return "/v1/audio/translations"
        case .rerank: return "/v1/rerank"
        case .moderations: return "/v1/moderations"
        case .files: return "/v1/files"
        case .batches: return "/v1/batches"
        case .realtime: return "/v1/realtime"
        case .passthrough: break
        }
        let scripted = shared.gateway.scripts.current.scriptedRoutes
        if !scripted.isEmpty, scripted["\(pending.head.method.rawValue) /v1\(pending.path)"] != nil { return "/v1" + pending.path }
        return "/v1/*"
    }

    func dispatch(_ pending: ConnectionStateMachine.Request, context: ChannelHandlerContext) {
        if pending.endpoint == .realtime { return dispatchRealtime(pending, context: context) }
        let gateway = shared.gateway
        let observer = gateway.observer
        var parsed: RequestOptions
        do {
            parsed = try RequestOptions.parse(pending.head.headers, policy: gateway.settings.hostPolicy)
        } catch {
            finish(.error(error, traceID: pending.head.headers.first(name: "x-portkey-trace-id"),
                          dialect: ClientDialect(pending.endpoint)))
            observeRejected(pending, error)
            return
        }
        let record = observer.makeRecord(method: pending.head.method.rawValue, route: routeLabel(pending),
                                         traceID: parsed.traceID, body: pending.body, headers: pending.head.headers)
        parsed.record = record
        let options = parsed
        let incoming = IncomingRequest(
            endpoint: pending.endpoint, method: pending.head.method, path: pending.path, query: pending.query,
            headers: pending.head.headers, body: pending.body)
        let loop = context.eventLoop
        let delivery = Delivery(this: NIOLoopBound(self, eventLoop: loop), endpoint: incoming.endpoint, options: options,
                                record: record, observer: observer, logger: shared.logger, channel: context.channel, loop: loop)
        // A request every stage passes is chained on this loop without a task (Gateway.exchange);
        // the client leaving abandons its upstream exchange.
        if let exchange = gateway.exchange(incoming, options: options, on: loop) {
            self.exchange = exchange
            exchange.answer.whenComplete { result in
                // Gateway.exchange fails only with GatewayError; anything else is a bug, said as one.
                delivery.deliver(result.mapError { error in
                    error as? GatewayError ?? GatewayError(status: 500, type: .server, message: "the exchange failed with \(error) (a gateway bug)",
                                                           code: .pipelineError)
                }, cancelled: false)
            }
            return
        }
        // The task is isolated to the connection's event loop (it captures `isolation`): the
        // stage chain runs on it without a hop per call (see EventLoopIsolation).
        let isolation = loopIsolation(context.eventLoop)
        task = isolation.assumeIsolated { isolation in Task {
            _ = isolation
            let result: Result<GatewayResponse, GatewayError>
            do throws(GatewayError) {
                result = .success(try await gateway.handle(incoming, options: options))
            } catch {
                result = .failure(error)
            }
            delivery.deliver(result, cancelled: Task.isCancelled)
        } }
    }

    /// Where a request's answer goes once the gateway has it: a whole answer is written, a stream
    /// is handed to a relay task of its own, an error is put in the client's dialect; the request
    /// is logged and counted either way.
    /// A class: the callback or task that delivers holds one reference, not a copy of each field.
    final class Delivery: Sendable {
        let this: NIOLoopBound<GatewayConnectionHandler>
        let endpoint: Endpoint
        let traceID: String
        let provider: String?
        let record: RequestRecord
        let observer: RequestObserver
        let logger: Logger
        let channel: any Channel
        let loop: any EventLoop

        init(this: NIOLoopBound<GatewayConnectionHandler>, endpoint: Endpoint, options: RequestOptions, record: RequestRecord,
             observer: RequestObserver, logger: Logger, channel: any Channel, loop: any EventLoop) {
            self.this = this
            self.endpoint = endpoint
            self.traceID = options.traceID
            self.provider = options.provider
            self.record = record
            self.observer = observer
            self.logger = logger
            self.channel = channel
            self.loop = loop
        }

        /// `cancelled`: the client left while the answer was being prepared.
        func deliver(_ result: Result<GatewayResponse, GatewayError>, cancelled: Bool) {
            let this = self.this
            let response: GatewayResponse
            switch result {
            case .failure(let error):
                let dialect = ClientDialect(endpoint)
                let (traceID, provider) = (self.traceID, self.provider)
                loop.onLoop {
                    this.value.finish(.error(error, traceID: traceID, provider: provider, dialect: dialect))
                }
                observer.finished(record, status: error.status, errorCode: error.code?.rawValue)
                return
            case .success(let answer):
                response = answer
            }
            guard case .stream(let stream) = response.body else {
                loop.onLoop { this.value.finish(response) }
                if case .buffer(let body) = response.body { record.observe(body: body) }
                observer.finished(record, status: response.status)
                return
            }
            record.update { $0.stream = true }
            observer.metrics.streamOpened()
            // The stream is relayed by a task of its own, and the request's task (if it had one)
            // ends here: a task keeps the memory its async frames took (the stage chain's, ~33 KB
            // by heaptrack) until it ends, which for a stream would be the stream's whole life.
            let relay = StreamRelay(stream: stream, status: response.status, endpoint: endpoint,
                                    eventStream: response.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false,
                                    provider: provider ?? "provider", traceID: traceID,
                                    record: record, observer: observer, logger: logger, channel: channel, loop: loop)
            loop.onLoop {
                this.value.startStream(status: response.status, headers: response.headers)
                this.value.startRelay(relay, cancelled: cancelled)
            }
        }
    }

    /// Relays the stream in a task isolated to this loop, which becomes the connection's task (the
    /// client leaving cancels it, and that ends the upstream stream). `cancelled`: the client left
    /// while the answer was being prepared.
    fileprivate func startRelay(_ relay: StreamRelay, cancelled: Bool) {
        let this = NIOLoopBound(self, eventLoop: relay.loop)
        let relayTask = loopIsolation(relay.loop).assumeIsolated { isolation in Task {
            _ = isolation
            await relay.run(this)
        } }
        task = relayTask
        exchange = nil  // the answer's head is here; the relay's cancellation ends the upstream stream
        if cancelled || context == nil || !relay.channel.isActive { relayTask.cancel() }
    }

    func loopIsolation(_ loop: any EventLoop) -> EventLoopIsolation {
        if let isolation { return isolation }
        let made = EventLoopIsolation(loop: loop)
        isolation = made
        return made
    }

    fileprivate func finish(_ response: GatewayResponse) {
        guard let context, case .buffer(let body) = response.body else { return }
        write(status: response.status, headers: response.headers, body: body, context: context)
    }
}

/// One stream on its way to the client: relayed event by event, waiting while the client's window
/// is full, and ended with an error event in the client's dialect when the upstream fails.
struct StreamRelay: Sendable {
    let stream: any AsyncSequence<ByteBuffer, any Error> & Sendable
    let status: Int
    let endpoint: Endpoint
    /// Whether the answer is an event stream, which can end with an error event; bytes of any
    /// other kind (audio, a file) cannot, and a failure cuts the connection instead.
    let eventStream: Bool
    let provider: String
    let traceID: String
    let record: RequestRecord
    let observer: RequestObserver
    let logger: Logger
    let channel: any Channel
    let loop: any EventLoop

    nonisolated(nonsending) func run(_ this: NIOLoopBound<GatewayConnectionHandler>) async {
        let loop = self.loop
        var failure: (any Error)?
        var first = true
        do {
            for try await chunk in stream {
                if !channel.isWritable {
                    await withCheckedContinuation { waiter in loop.onLoop { this.value.waitForWritability(waiter) } }
                }
                if Task.isCancelled { break }
                if first {
                    first = false
                    record.firstChunkSent()
                }
                record.observe(chunk: chunk)
                loop.onLoop { this.value.writeStreamChunk(chunk) }
            }
        } catch {
            failure = error
        }
        observer.metrics.streamClosed()
        if Task.isCancelled {
            observer.finished(record, status: status, errorCode: "cancelled")
            // The client went away (its connection closed and cancelled this task); ending the
            // iteration ended the upstream stream, which closes the upstream connection: the
            // upstream request is cancelled. Whatever the stream reported after that is moot.
            logger.info("client disconnected mid-stream; upstream request cancelled",
                        metadata: ["provider": "\(provider)", "trace_id": "\(traceID)"])
            return
        }
        guard let failure else {
            loop.onLoop { this.value.endStream(with: nil) }
            observer.finished(record, status: status)
            return
        }
        // Bytes already reached the client, so the status cannot change: end the stream with an
        // error event in the client's dialect, which the SDKs raise as an APIError.
        logger.warning("upstream stream failed", metadata: ["provider": "\(provider)", "error": "\(failure)"])
        let error = failure as? GatewayError
            ?? GatewayError.upstreamBroken(provider: provider, reason: "the stream was interrupted")
        guard eventStream else {
            // Audio or a file cut short: closing without the chunked body's last chunk is what an
            // HTTP client reads as an incomplete answer (never a complete, shorter file).
            loop.onLoop { this.value.abortStream() }
            observer.finished(record, status: status, errorCode: (error.code ?? .streamInterrupted).rawValue)
            return
        }
        var event: ByteBuffer
        if endpoint == .messages {
            event = ByteBuffer(string: "event: error\ndata: ")  // the Messages dialect's error event
            event.writeBytes(error.messagesBody)
        } else if endpoint == .responses {
            event = ByteBuffer(string: "event: error\ndata: ")  // the Responses dialect's error event
            event.writeBytes(error.responsesErrorEvent)
        } else {
            event = ByteBuffer(string: "data: ")
            event.writeBytes(error.body)
        }
        event.writeString("\n\n")
        loop.onLoop { [event] in this.value.endStream(with: event) }
        observer.finished(record, status: status, errorCode: (error.code ?? .streamInterrupted).rawValue)
    }
}
