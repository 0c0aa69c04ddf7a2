import GatewayCore
import Logging
import NIOCore
import NIOHTTP1

/// One client connection, on its event loop: carries out what its ``ConnectionStateMachine``
/// decides (read, answer, hand a request to the gateway, close) and writes the bytes
/// ``ResponseWriter`` makes. The gateway's work is chained on this loop, or runs in a task isolated
/// to it (`GatewayConnectionHandler+Gateway.swift`).
///
/// Inbound it receives NIO's parsed request parts (llhttp); outbound it writes finished bytes, so
/// the pipeline has no response encoder.
final class GatewayConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let shared: ConnectionShared
    var machine: ConnectionStateMachine
    var context: ChannelHandlerContext?
    /// The gateway's work for the current request (cancelled when the client leaves): a task, or
    /// an exchange chained on the loop.
    var task: Task<Void, Never>?
    var exchange: GatewayExchange?
    /// The actor the connection's request tasks are isolated to: its event loop.
    var isolation: EventLoopIsolation?
    /// Whether a stream's head has been sent and its end not yet.
    var streaming = false
    var writabilityWaiters: [CheckedContinuation<Void, Never>] = []
    /// The console's event stream, when this connection is one (`GET /console/feed`).
    var feed: ConsoleFeedStream?
    /// Fires when a stream has waited `idle_timeout` for a client that reads nothing.
    private var writeStall: Scheduled<Void>?
    private var idleCheck: RepeatedTask?
    /// Serving the backlog now (it is served in a loop, not by recursion per request).
    private var draining = false

    init(shared: ConnectionShared) {
        self.shared = shared
        machine = ConnectionStateMachine(maxBodyBytes: shared.maxRequestBodyBytes, idleTimeout: shared.idleTimeout,
                                         limits: shared.limits, now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The machine's clock started when the connection was accepted (this handler's init): no
        // activity is stamped here, or a connection that sends nothing would look like a head in
        // progress and get a 408 instead of a silent close.
        if let interval = shared.limits.checkInterval(idleTimeout: shared.idleTimeout) {
            // One repeating check per connection rather than a timer re-armed per request: the
            // hot path only stamps the time of each socket read.
            let this = NIOLoopBound(self, eventLoop: context.eventLoop)
            idleCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                this.value.checkDeadlines()
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        stopFeed()
        self.context = nil
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let action = machine.received(unwrapInboundIn(data), writable: context.channel.isWritable, now: .now(),
                                      route: shared.decide)
        perform(action, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        machine.activity(now: .now())
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if machine.shouldRead(writable: context.channel.isWritable) { context.read() }
    }

    private func perform(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendContinue:
            context.writeAndFlush(wrapOutboundOut(writer.continueHead(allocator: context.channel.allocator)), promise: nil)
        case .dispatch(let request):
            dispatch(request, context: context)
        case .answer(let response):
            write(response, context: context)
        case .reject(let error, let request):
            write(.error(error, traceID: machine.traceID), context: context)
            observeRejected(request, error)
        case .runAdmin(let action):
            runAdmin(action, context: context)
        case .startFeed:
            startFeed(context: context)
        }
    }

    /// Serves pipelined requests that arrived while the previous answer was being written.
    private func drainBacklog(context: ChannelHandlerContext) {
        // Writing an answer below can end a request and call back here: the outer loop goes on.
        guard !draining else { return }
        draining = true
        defer { draining = false }
        while let action = machine.nextBacklogged(writable: context.channel.isWritable, now: .now(), route: shared.decide) {
            perform(action, context: context)
        }
        if machine.resumeReading(writable: context.channel.isWritable) { context.read() }
    }

    // MARK: Deadlines

    private func checkDeadlines() {
        guard let context else { return }
        switch machine.checkDeadlines(now: .now(), writable: context.channel.isWritable) {
        case .none:
            break
        case .closeSilent:
            shared.gateway.observer.metrics.clientConnectionCut(reason: "head_timeout")
            shared.logger.debug("closing a connection that sent no request within the head timeout")
            context.close(promise: nil)
        case .close:
            shared.logger.trace("closing an idle connection")
            context.close(promise: nil)
        case .timeOut(let message, let headTimeout):
            if headTimeout { shared.gateway.observer.metrics.clientConnectionCut(reason: "head_timeout") }
            shared.logger.debug("client too slow", metadata: ["reason": "\(message)"])
            let (error, refused) = machine.timeOut(message)
            if let refused { observeRejected(refused, error) }
            write(.error(error, traceID: machine.traceID), context: context)
        }
    }

    /// A request refused before the gateway saw it (too large, stalled) still gets its log line
    /// and is counted in the metrics.
    func observeRejected(_ request: ConnectionStateMachine.Request, _ error: GatewayError) {
        let observer = shared.gateway.observer
        let record = observer.makeRecord(method: request.head.method.rawValue, route: routeLabel(request),
                                         traceID: request.head.headers.first(name: "x-portkey-trace-id") ?? "",
                                         body: request.body)
        observer.finished(record, status: error.status, errorCode: error.code?.rawValue)
    }

    private func runAdmin(_ action: AdminAction, context: ChannelHandlerContext) {
        guard let admin = shared.admin else { return }
        let loop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: loop)
        task = Task {
            let (status, json) = await admin.handle(action)
            loop.onLoop {
                this.value.finish(ImmediateResponse(status: status, headers: [("content-type", "application/json"),
                                                                              ("cache-control", "no-store")],
                                                    body: ByteBuffer(string: json)))
            }
        }
    }

    // MARK: Writing (on the event loop)

    private var writer: ResponseWriter {
        ResponseWriter(version: machine.head?.version ?? .http1_1, isHead: machine.head?.method == .HEAD)
    }

    func finish(_ response: ImmediateResponse) {
        guard let context else { return }
        write(response, context: context)
    }

    private func write(_ response: ImmediateResponse, context: ChannelHandlerContext) {
        write(status: response.status, headers: HTTPHeaders(response.headers), body: response.body, context: context)
    }

    /// A whole answer in one buffer; the answer ends with it.
    func write(status: Int, headers: HTTPHeaders, body: ByteBuffer, context: ChannelHandlerContext) {
        let bytes = writer.response(status: status, headers: headers, body: body, keepAlive: machine.keepAlive,
                                    allocator: context.channel.allocator)
        end(with: bytes, context: context)
    }

    func startStream(status: Int, headers: HTTPHeaders) {
        guard let context else { return }
        streaming = true
        if machine.head?.version.minor == 0 { machine.closeAfterAnswer() }  // HTTP/1.0: the body ends at close
        let bytes = writer.streamHead(status: status, headers: headers, keepAlive: machine.keepAlive,
                                      allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    func writeStreamChunk(_ chunk: ByteBuffer) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(writer.streamChunk(chunk, last: false, allocator: context.channel.allocator)),
                              promise: nil)
    }

    /// Ends the stream in progress, after `last` (an error event) when given.
    /// Ends a stream that cannot carry an error event by closing the connection mid-body.
    func abortStream() {
        guard let context, streaming else { return }
        streaming = false
        task = nil
        exchange = nil
        context.close(promise: nil)
    }

    func endStream(with last: ByteBuffer?) {
        guard let context, streaming else { return }
        streaming = false
        end(with: writer.streamChunk(last, last: true, allocator: context.channel.allocator), context: context)
    }

    /// The drain deadline passed: a stream in progress ends with an error event (true), anything
    /// else just closes. Called on the event loop.
    func endAtDrainDeadline() -> Bool {
        cancelWork()
        guard streaming, let context else { return false }
        let error = GatewayError(status: 503, type: .server,
                                 message: "the gateway is shutting down and its drain deadline passed", code: .shuttingDown)
        var event = ByteBuffer(string: "data: ")
        event.writeBytes(error.body)
        event.writeString("\n\n")
        context.writeAndFlush(wrapOutboundOut(writer.streamChunk(event, last: true, allocator: context.channel.allocator)),
                              promise: nil)
        streaming = false
        return true
    }

    /// Writes the answer's last bytes; then the next request (keep-alive) or the close.
    private func end(with bytes: ByteBuffer, context: ChannelHandlerContext) {
        task = nil
        exchange = nil
        if machine.answerEnded(now: .now()) {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            drainBacklog(context: context)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    // MARK: Flow control and connection state

    /// Cancels the request's task or abandons its exchange, whichever it has.
    private func cancelWork() {
        task?.cancel()
        task = nil
        exchange?.cancel()
        exchange = nil
    }

    func waitForWritability(_ waiter: CheckedContinuation<Void, Never>) {
        guard let context, !context.channel.isWritable else {
            waiter.resume()
            return
        }
        writabilityWaiters.append(waiter)
        // A client that reads none of its stream for `idle_timeout` is closed (the stream task is
        // cancelled with it, which ends the upstream request): it would otherwise hold the
        // connection, the upstream connection and the task forever.
        if writeStall == nil, let timeout = shared.idleTimeout {
            let this = NIOLoopBound(self, eventLoop: context.eventLoop)
            writeStall = context.eventLoop.scheduleTask(in: timeout) { this.value.closeStalledWriter() }
        }
    }

    private func closeStalledWriter() {
        writeStall = nil
        guard let context, !context.channel.isWritable, !writabilityWaiters.isEmpty else { return }
        shared.logger.debug("closing a connection whose client reads none of its stream")
        context.close(promise: nil)
    }

    private func resumeWaiters() {
        writeStall?.cancel()
        writeStall = nil
        let waiters = writabilityWaiters
        writabilityWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            machine.becameWritable(now: .now())
            resumeWaiters()
            if feed != nil { drainFeed() }
            drainBacklog(context: context)  // pipelined requests held back while the client was not reading
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client is gone: cancel the provider call (this closes its upstream connection).
        cancelWork()
        resumeWaiters()
        stopFeed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: close now when idle, otherwise after the answer in progress; the
            // console's feed, which never ends by itself, ends now.
            if feed != nil { return endFeed(reason: "the gateway is shutting down") }
            if machine.quiesce() { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            shared.logger.debug("client connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        // Malformed HTTP: say so (when no answer has begun), then close, since the byte stream
        // cannot be resynchronised.
        shared.logger.debug("malformed request from client", metadata: ["error": "\(error)"])
        if let answer = machine.malformed("\(error)") {
            write(.error(answer), context: context)
        } else {
            context.close(promise: nil)
        }
    }
}

extension EventLoop {
    /// Runs `body` now when already on this loop (the usual case: the gateway's tasks run on the
    /// loop of their connection), otherwise schedules it there.
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        if inEventLoop { body() } else { execute(body) }
    }
}
