import GatewayCore
import Logging
import NIOCore
import NIOHTTP1
import LuaRuntime

/// One client connection. Runs on its event loop: collects a request, answers what the listener
/// answers itself, and hands the rest to the gateway in a task that stays on this loop.
///
/// Pipelined requests (sent before the previous response ended) wait in a backlog and are served
/// in order. Unlike NIO's `HTTPServerPipelineHandler`, this keeps reading while a response is
/// pending, and stops only when the backlog grows past a bound: withholding reads on every
/// request cost two `epoll_ctl` calls per request (interest off, then on again). It also stops
/// reading, and serving the backlog, while the channel is not writable: a client that pipelines
/// requests and never reads its answers must not make the gateway queue answers without bound.
final class GatewayConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bytes of pipelined requests held before reading stops.
    static let backlogLimit = 1 << 20

    private struct Pending {
        var head: HTTPRequestHead
        var endpoint: Endpoint
        var path: String
        var query: String
        var body: ByteBuffer?
    }

    private enum State {
        case idle
        case receiving(Pending)
        /// The answer is known; the body is read and dropped.
        case answering(ImmediateResponse)
        /// Already answered (e.g. 413) and closing; the rest of the body is dropped.
        case discarding
        /// The gateway is working on the request, or its response is being written.
        case responding
        /// An authorized admin request; it runs when its (ignored) body has been read.
        case adminPending(AdminAction)
    }

    private let shared: ConnectionShared
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var requestHead: HTTPRequestHead?
    private var keepAlive = true
    private var task: Task<Void, Never>?
    /// The actor the connection's request tasks are isolated to: its event loop.
    private var isolation: EventLoopIsolation?
    private var writabilityWaiters: [CheckedContinuation<Void, Never>] = []
    private var backlog = CircularBuffer<HTTPServerRequestPart>()
    private var backlogBytes = 0
    private var readPending = false
    /// When the client last sent bytes (or the last response ended), for the idle timeout.
    private var lastActivity = NIODeadline.now()
    private var idleCheck: RepeatedTask?
    /// When the connection became ready for its next request head (accepted, or the previous
    /// response ended): bytes after this are a head in progress, bound by the head deadline.
    private var awaitingHeadSince = NIODeadline.now()
    /// Whether a request was ever received: a fresh connection that sends nothing is cut at the
    /// head deadline, an idle keep-alive one at the idle timeout.
    private var servedRequest = false
    /// When the current request's head arrived, and how many body bytes followed (minimum rate).
    private var bodyStarted = NIODeadline.now()
    private var bodyReceived = 0
    /// The body of the request being received. Kept outside `state` so it is appended to in place
    /// (a buffer in an enum case that is copied out and put back can be shared at the moment of
    /// the append, and then each append copies the whole body).
    private var requestBody: ByteBuffer?
    /// Serving the backlog now (it is served in a loop, not by recursion per request).
    private var draining = false
    /// When the client last made room in its receive window (the channel became writable again):
    /// a slow reader of pipelined answers is progressing, not idle.
    private var lastWritable = NIODeadline.now()
    /// Fires when a stream has waited `idle_timeout` for a client that reads nothing.
    private var writeStall: Scheduled<Void>?

    init(shared: ConnectionShared) {
        self.shared = shared
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        lastActivity = .now()
        awaitingHeadSince = lastActivity
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
        self.context = nil
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        lastActivity = .now()
        context.fireChannelReadComplete()
    }

    /// The connection's deadlines, checked a few times per period:
    /// - silent for `idle_timeout` between requests: closed; in the middle of a request: 408;
    /// - a request head not complete within `head_timeout` of its first byte (or of the accept,
    ///   for a connection's first request): 408 and closed, however steadily its bytes trickle in
    ///   (slowloris), or closed without a word when nothing at all was sent;
    /// - a body arriving slower than `body_min_rate` on average: 408 and closed;
    /// - pipelined requests waiting while the client reads none of its answers for `idle_timeout`:
    ///   closed.
    /// A connection waiting on the gateway (the provider is thinking, a stream is being sent) is
    /// never cut here: upstream timeouts govern those.
    private func checkDeadlines() {
        guard let context else { return }
        let now = NIODeadline.now()
        let silent = shared.idleTimeout.map { now - lastActivity >= $0 } ?? false
        let limits = shared.limits
        switch state {
        case .idle where backlog.isEmpty:
            let headStarted = lastActivity > awaitingHeadSince  // bytes of a head have arrived
            if (headStarted || !servedRequest) && limits.headExpired(started: awaitingHeadSince, now: now) {
                shared.gateway.observer.metrics.clientConnectionCut(reason: "head_timeout")
                guard headStarted else {
                    shared.logger.debug("closing a connection that sent no request within the head timeout")
                    context.close(promise: nil)
                    return
                }
                shared.logger.debug("request head not complete within the head timeout (slow client)")
                requestHead = nil  // the answer is not to the previous request
                timeOut(context, "the request head was not received within \(Self.seconds(limits.headTimeout)) s")
            } else if silent {
                shared.logger.trace("closing an idle keep-alive connection")
                context.close(promise: nil)
            }
        case .idle where silent && !context.channel.isWritable
            && shared.idleTimeout.map({ now - lastWritable >= $0 }) ?? false:
            // Answers are waiting for a client that reads none of them, and it sent nothing either.
            shared.logger.debug("closing a connection that does not read its answers")
            context.close(promise: nil)
        case .receiving, .answering, .adminPending:
            if silent {
                timeOut(context, "the request was not received completely within \(Self.seconds(shared.idleTimeout)) s")
            } else if limits.bodyTooSlow(started: bodyStarted, received: bodyReceived, now: now) {
                shared.logger.debug("request body slower than the minimum rate", metadata: ["bytes": "\(bodyReceived)"])
                timeOut(context, "the request body arrived slower than \(limits.bodyMinRate) bytes/s")
            }
        case .idle, .discarding, .responding:
            break
        }
    }

    /// 408 `client_timeout`, then close.
    private func timeOut(_ context: ChannelHandlerContext, _ message: String) {
        keepAlive = false
        let error = GatewayError(status: 408, type: .invalidRequest, message: message, code: .clientTimeout)
        if case .receiving(let pending) = state { observeRejected(withBody(pending), error) }
        state = .responding
        write(.error(error, traceID: requestHead?.headers.first(name: "x-portkey-trace-id")), context: context)
    }

    /// The request with the body received so far, which leaves this handler.
    private func withBody(_ pending: Pending) -> Pending {
        var pending = pending
        pending.body = requestBody
        requestBody = nil
        return pending
    }

    private static func seconds(_ amount: TimeAmount?) -> Int64 { (amount?.nanoseconds ?? 0) / 1_000_000_000 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .discarding:
            return
        case .responding:
            backlog.append(part)
            backlogBytes += Self.size(of: part)
        case .idle, .receiving, .answering, .adminPending:
            if backlog.isEmpty && context.channel.isWritable {
                process(part, context: context)
            } else {
                backlog.append(part)
                backlogBytes += Self.size(of: part)
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if backlogBytes >= Self.backlogLimit || !context.channel.isWritable {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Serves pipelined requests that arrived while the previous response was being written.
    private func drainBacklog(context: ChannelHandlerContext) {
        // Writing an answer below can end a request and call back here: the outer loop goes on.
        guard !draining else { return }
        draining = true
        defer { draining = false }
        // Answers queue up while the client does not read them: serve no more until it does.
        while context.channel.isWritable, let part = backlog.first {
            switch state {
            case .idle, .receiving, .answering, .adminPending:
                backlog.removeFirst()
                backlogBytes -= Self.size(of: part)
                process(part, context: context)
            case .responding, .discarding:
                return
            }
        }
        if readPending && backlogBytes < Self.backlogLimit && context.channel.isWritable {
            readPending = false
            context.read()
        }
    }

    private static func size(of part: HTTPServerRequestPart) -> Int {
        switch part {
        case .head(let head): 256 + head.uri.utf8.count
        case .body(let chunk): chunk.readableBytes
        case .end: 0
        }
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            received(head, context: context)
        case .body(var chunk):
            bodyReceived += chunk.readableBytes
            guard case .receiving(let pending) = state else { return }
            if (requestBody?.readableBytes ?? 0) + chunk.readableBytes > shared.maxRequestBodyBytes {
                state = .responding
                rejectTooLarge(withBody(pending), context: context)
                return
            }
            if requestBody == nil {
                requestBody = chunk
            } else {
                requestBody!.writeBuffer(&chunk)
            }
        case .end:
            switch state {
            case .receiving(let pending):
                state = .responding
                dispatch(withBody(pending), context: context)
            case .answering(let response):
                state = .responding
                write(response, context: context)
            case .adminPending(let action):
                state = .responding
                runAdmin(action, context: context)
            case .discarding, .idle, .responding:
                break
            }
        }
    }

    private func received(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        requestHead = head
        keepAlive = head.isKeepAlive
        servedRequest = true
        bodyStarted = .now()
        bodyReceived = 0
        requestBody = nil
        switch Route.resolve(method: head.method, uri: head.uri) {
        case .answer(let response):
            state = .answering(response)
        case .ready:
            if shared.lifecycle.isDraining {
                state = .answering(ImmediateResponse(status: 503, headers: [("content-type", "application/json")],
                                                     body: ByteBuffer(string: #"{"status":"draining"}"#)))
            } else {
                let generation = shared.gateway.scripts.current.number
                state = .answering(ImmediateResponse(status: 200, headers: [("content-type", "application/json")],
                                                     body: ByteBuffer(string: #"{"status":"ready","generation":\#(generation)}"#)))
            }
        case .metrics:
            guard let render = shared.metrics else {
                state = .answering(.error(.notFound(method: head.method.rawValue, path: head.uri)))
                return
            }
            state = .answering(ImmediateResponse(status: 200, headers: [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                                                 body: ByteBuffer(bytes: render())))
        case .admin(let action):
            guard let admin = shared.admin else {
                state = .answering(.error(.notFound(method: head.method.rawValue, path: head.uri)))
                return
            }
            guard admin.authorizes(head.headers) else {
                state = .answering(.error(GatewayError(status: 401, type: .authentication,
                                                       message: "admin endpoints need the admin token (Authorization: Bearer <token>)",
                                                       code: .invalidAdminToken)))
                return
            }
            state = .adminPending(action)
        case .gateway(let endpoint, let path, let query):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
               length > shared.maxRequestBodyBytes {
                rejectTooLarge(Pending(head: head, endpoint: endpoint, path: path, query: query, body: nil), context: context)
                return
            }
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                                      promise: nil)
            }
            state = .receiving(Pending(head: head, endpoint: endpoint, path: path, query: query, body: nil))
        }
    }

    /// 413 now, without reading a body we will not use; the connection closes after it.
    private func rejectTooLarge(_ pending: Pending, context: ChannelHandlerContext) {
        keepAlive = false
        let error = GatewayError.bodyTooLarge(limit: shared.maxRequestBodyBytes)
        write(.error(error, traceID: requestHead?.headers.first(name: "x-portkey-trace-id")), context: context)
        observeRejected(pending, error)
    }

    /// A request refused before the gateway saw it (too large, stalled, bad headers) still gets its
    /// log line and is counted in the metrics.
    private func observeRejected(_ pending: Pending, _ error: GatewayError) {
        let observer = shared.gateway.observer
        let record = observer.makeRecord(method: pending.head.method.rawValue, route: routeLabel(pending),
                                         traceID: pending.head.headers.first(name: "x-portkey-trace-id") ?? "",
                                         body: pending.body)
        observer.finished(record, status: error.status, errorCode: error.code?.rawValue)
    }

    private func runAdmin(_ action: AdminAction, context: ChannelHandlerContext) {
        guard let admin = shared.admin else { return }
        let loop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: loop)
        task = Task {
            let (status, json) = await admin.handle(action)
            loop.onLoop {
                this.value.finish(ImmediateResponse(status: status, headers: [("content-type", "application/json")],
                                                    body: ByteBuffer(string: json)))
            }
        }
    }

    /// The route as a metric label: known endpoints and scripted routes by path, any other
    /// `/v1/*` passthrough as one label (clients choose those paths).
    private func routeLabel(_ pending: Pending) -> String {
        switch pending.endpoint {  // literals: no string built per request
        case .chatCompletions: return "/v1/chat/completions"
        case .completions: return "/v1/completions"
        case .embeddings: return "/v1/embeddings"
        case .models: return "/v1/models"
        case .messages: return "/v1/messages"
        case .countTokens: return "/v1/messages/count_tokens"
        case .responses: return "/v1/responses"
        case .passthrough: break
        }
        let scripted = shared.gateway.scripts.current.scriptedRoutes
        if !scripted.isEmpty, scripted["\(pending.head.method.rawValue) /v1\(pending.path)"] != nil { return "/v1" + pending.path }
        return "/v1/*"
    }

    private func dispatch(_ pending: Pending, context: ChannelHandlerContext) {
        let gateway = shared.gateway
        let observer = gateway.observer
        var parsed: RequestOptions
        do {
            parsed = try RequestOptions.parse(pending.head.headers, policy: gateway.settings.hostPolicy)
        } catch {
            write(.error(error, traceID: pending.head.headers.first(name: "x-portkey-trace-id"),
                         dialect: ClientDialect(pending.endpoint)), context: context)
            observeRejected(pending, error)
            return
        }
        let record = observer.makeRecord(method: pending.head.method.rawValue, route: routeLabel(pending),
                                         traceID: parsed.traceID, body: pending.body)
        parsed.record = record
        let options = parsed
        let incoming = IncomingRequest(
            endpoint: pending.endpoint, method: pending.head.method, path: pending.path, query: pending.query,
            headers: pending.head.headers, body: pending.body)
        let loop = context.eventLoop
        let channel = context.channel
        let this = NIOLoopBound(self, eventLoop: loop)
        let logger = shared.logger
        // The task is isolated to the connection's event loop (it captures `isolation`): the
        // stage chain runs on it without a hop per call (see EventLoopIsolation).
        let isolation = loopIsolation(context.eventLoop)
        task = isolation.assumeIsolated { isolation in Task {
            _ = isolation
            let response: GatewayResponse
            do throws(GatewayError) {
                response = try await gateway.handle(incoming, options: options)
            } catch {
                let dialect = ClientDialect(incoming.endpoint)
                loop.onLoop {
                    this.value.finish(.error(error, traceID: options.traceID, provider: options.provider, dialect: dialect))
                }
                observer.finished(record, status: error.status, errorCode: error.code?.rawValue)
                return
            }
            guard case .stream(let stream) = response.body else {
                loop.onLoop { this.value.finish(response, options: options) }
                if case .buffer(let body) = response.body { record.observe(body: body) }
                observer.finished(record, status: response.status)
                return
            }
            record.update { $0.stream = true }
            observer.metrics.streamOpened()
            loop.onLoop { this.value.startStream(response, options: options) }
            let provider = options.provider ?? "provider"
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
                observer.finished(record, status: response.status, errorCode: "cancelled")
                // The client went away (its connection closed and cancelled this task); ending the
                // iteration ended the upstream stream, which closes the upstream connection: the
                // upstream request is cancelled. Whatever the stream reported after that is moot.
                logger.info("client disconnected mid-stream; upstream request cancelled",
                            metadata: ["provider": "\(provider)", "trace_id": "\(options.traceID)"])
                return
            }
            guard let failure else {
                loop.onLoop { this.value.endStream(with: nil) }
                observer.finished(record, status: response.status)
                return
            }
            // Bytes already reached the client, so the status cannot change: end the stream with an
            // error event in OpenAI's shape, which the SDKs raise as an APIError.
            logger.warning("upstream stream failed", metadata: ["provider": "\(provider)", "error": "\(failure)"])
            let error = failure as? GatewayError
                ?? GatewayError.upstreamBroken(provider: provider, reason: "the stream was interrupted")
            var event: ByteBuffer
            if incoming.endpoint == .messages {
                event = ByteBuffer(string: "event: error\ndata: ")  // the Messages dialect's error event
                event.writeBytes(error.messagesBody)
            } else if incoming.endpoint == .responses {
                event = ByteBuffer(string: "event: error\ndata: ")  // the Responses dialect's error event
                event.writeBytes(error.responsesErrorEvent)
            } else {
                event = ByteBuffer(string: "data: ")
                event.writeBytes(error.body)
            }
            event.writeString("\n\n")
            loop.onLoop { [event] in this.value.endStream(with: event) }
            observer.finished(record, status: response.status, errorCode: (error.code ?? .streamInterrupted).rawValue)
        } }
    }

    private func loopIsolation(_ loop: any EventLoop) -> EventLoopIsolation {
        if let isolation { return isolation }
        let made = EventLoopIsolation(loop: loop)
        isolation = made
        return made
    }

    // MARK: Writing (on the event loop)

    private func finish(_ response: ImmediateResponse) {
        guard let context else { return }
        write(response, context: context)
    }

    private func finish(_ response: GatewayResponse, options: RequestOptions) {
        guard let context, case .buffer(let body) = response.body else { return }
        write(status: response.status, headers: response.headers, body: body, context: context)
    }

    private func write(_ response: ImmediateResponse, context: ChannelHandlerContext) {
        write(status: response.status, headers: HTTPHeaders(response.headers), body: response.body, context: context)
    }

    private func write(status: Int, headers: HTTPHeaders, body: ByteBuffer, context: ChannelHandlerContext) {
        var head = responseHead(status: status, headers: headers)
        head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if requestHead?.method != .HEAD && body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        end(context: context)
    }

    /// Whether a stream's head has been sent and its end not yet.
    private var streaming = false

    /// The drain deadline passed: a stream in progress ends with an error event (true), anything
    /// else just closes. Called on the event loop.
    func endAtDrainDeadline() -> Bool {
        task?.cancel()
        guard streaming, let context else { return false }
        let error = GatewayError(status: 503, type: .server,
                                 message: "the gateway is shutting down and its drain deadline passed", code: .shuttingDown)
        var event = ByteBuffer(string: "data: ")
        event.writeBytes(error.body)
        event.writeString("\n\n")
        context.write(wrapOutboundOut(.body(.byteBuffer(event))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        streaming = false
        return true
    }

    private func startStream(_ response: GatewayResponse, options: RequestOptions) {
        guard let context else { return }
        streaming = true
        if requestHead?.version.minor == 0 { keepAlive = false }  // HTTP/1.0: the body ends at close
        let head = responseHead(status: response.status, headers: response.headers)
        context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
    }

    private func writeStreamChunk(_ chunk: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
    }

    private func endStream(with last: ByteBuffer?) {
        guard let context, streaming else { return }
        streaming = false
        if let last { context.write(wrapOutboundOut(.body(.byteBuffer(last))), promise: nil) }
        end(context: context)
    }

    private func end(context: ChannelHandlerContext) {
        task = nil
        lastActivity = .now()  // the idle period starts when the response ends
        awaitingHeadSince = lastActivity
        if keepAlive {
            state = .idle
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            drainBacklog(context: context)
        } else {
            state = .discarding
            backlog.removeAll()
            backlogBytes = 0
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    private func responseHead(status: Int, headers: HTTPHeaders) -> HTTPResponseHead {
        var fields = headers
        let version = requestHead?.version ?? .http1_1
        if !keepAlive {
            fields.replaceOrAdd(name: "connection", value: "close")
        } else if version.minor == 0 {
            fields.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        // Sources are checked where they are produced (scripts → script_error, upstreams → 502); this
        // only keeps an unchecked one from trapping (negative) or reaching the status line.
        let code = WireSyntax.statusProblem(status) == nil ? status : 500
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: code), headers: fields)
    }


    // MARK: Flow control and connection state

    private func waitForWritability(_ waiter: CheckedContinuation<Void, Never>) {
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
            lastWritable = .now()
            resumeWaiters()
            drainBacklog(context: context)  // pipelined requests held back while the client was not reading
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client is gone: cancel the provider call (this closes its upstream connection).
        task?.cancel()
        task = nil
        resumeWaiters()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: close now when idle, otherwise after the response in progress.
            keepAlive = false
            if case .idle = state, backlog.isEmpty { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            // Malformed HTTP: say so (when no response has begun), then close, since the byte
            // stream cannot be resynchronised.
            shared.logger.debug("malformed request from client", metadata: ["error": "\(error)"])
            switch state {
            case .idle, .receiving, .answering, .adminPending:
                keepAlive = false
                write(.error(GatewayError(status: 400, type: .invalidRequest,
                                          message: "malformed HTTP request: \(error)", code: .badHttpRequest)),
                      context: context)
            case .discarding, .responding:
                context.close(promise: nil)
            }
            return
        }
        shared.logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

extension EventLoop {
    /// Runs `body` now when already on this loop (the usual case: the gateway's tasks run on the
    /// loop of their connection), otherwise schedules it there.
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        if inEventLoop { body() } else { execute(body) }
    }
}
