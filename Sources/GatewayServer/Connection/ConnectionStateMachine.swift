import GatewayCore
import NIOCore
import NIOHTTP1

/// The life of one client connection, as a value: which request is being read, whether an answer
/// is being written, the pipelined requests waiting behind it, keep-alive, and the deadlines.
///
/// Every input (a parsed request part, the end of an answer, a deadline check, the client going
/// quiet) is a `mutating` call that returns what to do; the channel handler does it (writes,
/// reads, closes, starts the gateway's work). No I/O happens here, so every transition is tested
/// without sockets (`Tests/GatewayServerTests/ConnectionStateMachineTests.swift`), in the manner
/// of AsyncHTTPClient's `Transaction+StateMachine`.
///
/// Pipelined requests (sent before the previous answer ended) wait in a backlog and are served in
/// order. Unlike NIO's `HTTPServerPipelineHandler`, reading goes on while an answer is pending and
/// stops only when the backlog grows past ``backlogLimit``: withholding reads on every request cost
/// two `epoll_ctl` calls per request. Reading, and serving the backlog, also stop while the channel
/// is not writable: a client that pipelines requests and never reads its answers must not make the
/// gateway queue answers without bound.
struct ConnectionStateMachine {
    /// A request for the gateway, as it is read.
    struct Request {
        var head: HTTPRequestHead
        var endpoint: Endpoint
        var path: String
        var query: String
        var body: ByteBuffer?
    }

    /// Where a request head goes, decided by the listener's responders from its method and path.
    enum Decision {
        /// Answered by the listener (health, ready, metrics, an error) once its body is read.
        case answer(ImmediateResponse)
        /// An authorized admin request; it runs when its (ignored) body has been read.
        case admin(AdminAction)
        /// An authorized `GET /console/feed`: the console's event stream, once the body is read.
        case feed
        /// For the gateway; its body is collected.
        case gateway(Endpoint, path: String, query: String)
    }

    /// What the handler does next.
    enum Action {
        case none
        /// Write `100 Continue` (the client sent `Expect: 100-continue`).
        case sendContinue
        /// The request is complete: hand it to the gateway.
        case dispatch(Request)
        /// Write this answer (the listener's own).
        case answer(ImmediateResponse)
        /// Answer with this error (413), then close; log and count the refused request.
        case reject(GatewayError, Request)
        case runAdmin(AdminAction)
        /// Start the console's event stream; it lasts until the connection closes.
        case startFeed
    }

    /// What a deadline check decided.
    enum DeadlineAction: Equatable {
        case none
        /// Close without a word: a new connection that sent nothing within the head deadline.
        case closeSilent
        /// Close: idle between requests, or not reading its answers.
        case close
        /// 408 with this message, then close. `headTimeout` counts the cut in the metrics.
        case timeOut(String, headTimeout: Bool)
    }

    private enum State {
        case idle
        case receiving(Request)
        /// The answer is known; the body is read and dropped.
        case answering(ImmediateResponse)
        /// Already answered (e.g. 413) and closing; the rest of the request is dropped.
        case discarding
        /// The gateway is working on the request, or its answer is being written.
        case responding
        case adminPending(AdminAction)
        case feedPending
    }

    /// Bytes of pipelined requests held before reading stops.
    static let backlogLimit = 1 << 20

    private var state = State.idle
    let maxBodyBytes: Int
    let idleTimeout: TimeAmount?
    let limits: ClientLimits

    /// The head of the request being read or answered (its version, method, trace id).
    private(set) var head: HTTPRequestHead?
    /// Whether the connection stays open after the current answer.
    private(set) var keepAlive = true
    private var backlog = CircularBuffer<HTTPServerRequestPart>()
    private var backlogBytes = 0
    /// A read was asked for while reading was held back.
    private var readPending = false
    /// The body of the request being received. Kept outside `state` so it is appended to in place
    /// (a buffer in an enum case that is copied out and put back can be shared at the moment of
    /// the append, and then each append copies the whole body).
    private var body: ByteBuffer?
    /// When the client last sent bytes (or the last answer ended), for the idle timeout.
    private var lastActivity: NIODeadline
    /// When the connection became ready for its next head (accepted, or the previous answer
    /// ended): bytes after this are a head in progress, bound by the head deadline.
    private var awaitingHeadSince: NIODeadline
    /// Whether a request was ever received: a fresh connection that sends nothing is cut at the
    /// head deadline, an idle keep-alive one at the idle timeout.
    private var servedRequest = false
    /// When the current request's head arrived, and how many body bytes followed (minimum rate).
    private var bodyStarted: NIODeadline
    private var bodyReceived = 0
    /// When the client last made room in its receive window: a slow reader of pipelined answers
    /// is progressing, not idle.
    private var lastWritable: NIODeadline

    init(maxBodyBytes: Int, idleTimeout: TimeAmount?, limits: ClientLimits, now: NIODeadline) {
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeout = idleTimeout
        self.limits = limits
        lastActivity = now
        awaitingHeadSince = now
        bodyStarted = now
        lastWritable = now
    }

    /// Whether the connection is between requests with nothing waiting.
    var isIdle: Bool {
        if case .idle = state { return backlog.isEmpty }
        return false
    }

    /// Whether a request's answer may still be written (none has begun).
    private var canAnswer: Bool {
        switch state {
        case .idle, .receiving, .answering, .adminPending, .feedPending: true
        case .discarding, .responding: false
        }
    }

    // MARK: Reading

    /// The client sent bytes.
    mutating func activity(now: NIODeadline) {
        lastActivity = now
    }

    /// A parsed part of a request arrived. It is acted on now, or queued behind the answer in
    /// progress (pipelining) or while the client is not reading.
    mutating func received(_ part: HTTPServerRequestPart, writable: Bool, now: NIODeadline,
                           route: (HTTPRequestHead) -> Decision) -> Action {
        switch state {
        case .discarding:
            return .none
        case .responding:
            enqueue(part)
            return .none
        case .idle, .receiving, .answering, .adminPending, .feedPending:
            guard backlog.isEmpty && writable else {
                enqueue(part)
                return .none
            }
            return process(part, now: now, route: route)
        }
    }

    /// Whether a read asked for by the channel may go ahead; otherwise it is remembered and done
    /// when the backlog drains (``nextBacklogged(writable:now:route:)`` then ``resumeReading(writable:)``).
    mutating func shouldRead(writable: Bool) -> Bool {
        if backlogBytes >= Self.backlogLimit || !writable {
            readPending = true
            return false
        }
        return true
    }

    /// The next pipelined part to act on, or nil when the backlog is empty or must wait (an answer
    /// is in progress, or the client is not reading).
    mutating func nextBacklogged(writable: Bool, now: NIODeadline, route: (HTTPRequestHead) -> Decision) -> Action? {
        guard writable, canAnswer, let part = backlog.first else { return nil }
        backlog.removeFirst()
        backlogBytes -= Self.size(of: part)
        return process(part, now: now, route: route)
    }

    /// After the backlog was served: whether a read held back should be done now.
    mutating func resumeReading(writable: Bool) -> Bool {
        guard readPending && backlogBytes < Self.backlogLimit && writable else { return false }
        readPending = false
        return true
    }

    private mutating func enqueue(_ part: HTTPServerRequestPart) {
        backlog.append(part)
        backlogBytes += Self.size(of: part)
    }

    private static func size(of part: HTTPServerRequestPart) -> Int {
        switch part {
        case .head(let head): 256 + head.uri.utf8.count
        case .body(let chunk): chunk.readableBytes
        case .end: 0
        }
    }

    private mutating func process(_ part: HTTPServerRequestPart, now: NIODeadline,
                                  route: (HTTPRequestHead) -> Decision) -> Action {
        switch part {
        case .head(let head):
            return receivedHead(head, now: now, decision: route(head))
        case .body(var chunk):
            bodyReceived += chunk.readableBytes
            guard case .receiving(let request) = state else { return .none }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > maxBodyBytes {
                return rejectTooLarge(takeBody(request))
            }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            return .none
        case .end:
            switch state {
            case .receiving(let request):
                state = .responding
                return .dispatch(takeBody(request))
            case .answering(let response):
                state = .responding
                return .answer(response)
            case .adminPending(let action):
                state = .responding
                return .runAdmin(action)
            case .feedPending:
                state = .responding
                keepAlive = false  // the feed ends with the connection
                return .startFeed
            case .discarding, .idle, .responding:
                return .none
            }
        }
    }

    private mutating func receivedHead(_ head: HTTPRequestHead, now: NIODeadline, decision: Decision) -> Action {
        self.head = head
        keepAlive = head.isKeepAlive
        servedRequest = true
        bodyStarted = now
        bodyReceived = 0
        body = nil
        switch decision {
        case .answer(let response):
            state = .answering(response)
        case .admin(let action):
            state = .adminPending(action)
        case .feed:
            state = .feedPending
        case .gateway(let endpoint, let path, let query):
            let request = Request(head: head, endpoint: endpoint, path: path, query: query, body: nil)
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                return rejectTooLarge(request)  // now, without reading a body we will not use
            }
            state = .receiving(request)
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" { return .sendContinue }
        }
        return .none
    }

    /// 413; the connection closes after it.
    private mutating func rejectTooLarge(_ request: Request) -> Action {
        state = .responding
        keepAlive = false
        return .reject(.bodyTooLarge(limit: maxBodyBytes), request)
    }

    /// The request with the body received so far, which leaves the machine.
    private mutating func takeBody(_ request: Request) -> Request {
        var request = request
        request.body = body
        body = nil
        return request
    }

    /// The current request's `x-portkey-trace-id`, for answers the listener gives.
    var traceID: String? { head?.headers.first(name: "x-portkey-trace-id") }

    // MARK: Answering

    /// The answer will end the connection (HTTP/1.0 streams end at close; a failure).
    mutating func closeAfterAnswer() {
        keepAlive = false
    }

    /// The answer has been written. True: the connection stays for the next request (serve the
    /// backlog); false: close it once the answer is flushed.
    mutating func answerEnded(now: NIODeadline) -> Bool {
        lastActivity = now  // the idle period starts when the answer ends
        awaitingHeadSince = now
        if keepAlive {
            state = .idle
            return true
        }
        state = .discarding
        backlog.removeAll()
        backlogBytes = 0
        return false
    }

    /// The client's receive window opened again.
    mutating func becameWritable(now: NIODeadline) {
        lastWritable = now
    }

    /// Graceful shutdown: no request after the current one. True: close now (nothing in progress).
    mutating func quiesce() -> Bool {
        keepAlive = false
        return isIdle
    }

    /// The request bytes are not HTTP. The answer to give (400), or nil when an answer has begun
    /// and the connection can only be closed.
    mutating func malformed(_ description: String) -> GatewayError? {
        guard canAnswer else { return nil }
        keepAlive = false
        state = .responding
        return GatewayError(status: 400, type: .invalidRequest, message: "malformed HTTP request: \(description)",
                            code: .badHttpRequest)
    }

    // MARK: Deadlines

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
    /// For a 408, the machine moves to responding and the action carries the message; the answer
    /// comes from ``timeOut(_:)``.
    mutating func checkDeadlines(now: NIODeadline, writable: Bool) -> DeadlineAction {
        let silent = idleTimeout.map { now - lastActivity >= $0 } ?? false
        switch state {
        case .idle where backlog.isEmpty:
            let headStarted = lastActivity > awaitingHeadSince  // bytes of a head have arrived
            if (headStarted || !servedRequest) && limits.headExpired(started: awaitingHeadSince, now: now) {
                guard headStarted else { return .closeSilent }
                head = nil  // the answer is not to the previous request
                return .timeOut("the request head was not received within \(Self.seconds(limits.headTimeout)) s",
                                headTimeout: true)
            }
            return silent ? .close : .none
        case .idle where silent && !writable && idleTimeout.map({ now - lastWritable >= $0 }) ?? false:
            return .close  // answers wait for a client that reads none of them, and it sent nothing either
        case .receiving, .answering, .adminPending, .feedPending:
            if silent {
                return .timeOut("the request was not received completely within \(Self.seconds(idleTimeout)) s",
                                headTimeout: false)
            }
            if limits.bodyTooSlow(started: bodyStarted, received: bodyReceived, now: now) {
                return .timeOut("the request body arrived slower than \(limits.bodyMinRate) bytes/s", headTimeout: false)
            }
            return .none
        case .idle, .discarding, .responding:
            return .none
        }
    }

    /// The 408 for a ``DeadlineAction/timeOut(_:headTimeout:)``, and the request it refuses (to be
    /// logged), if one was being received. The connection closes after it.
    mutating func timeOut(_ message: String) -> (GatewayError, Request?) {
        keepAlive = false
        var refused: Request?
        if case .receiving(let request) = state { refused = takeBody(request) }
        state = .responding
        return (GatewayError(status: 408, type: .invalidRequest, message: message, code: .clientTimeout), refused)
    }

    /// The body bytes received for the current request (logged for a slow body).
    var currentBodyBytes: Int { bodyReceived }

    private static func seconds(_ amount: TimeAmount?) -> Int64 { (amount?.nanoseconds ?? 0) / 1_000_000_000 }
}
