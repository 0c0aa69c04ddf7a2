import GatewayCore
import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayServer

/// The connection's life without sockets: each test feeds request parts, answer ends and clock
/// readings to a ``ConnectionStateMachine`` and checks what it tells the handler to do.
@Suite struct ConnectionStateMachineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    let limits = ClientLimits(headTimeout: .seconds(10), bodyMinRate: 100)

    func machine(maxBody: Int = 1000, idle: TimeAmount? = .seconds(60)) -> ConnectionStateMachine {
        ConnectionStateMachine(maxBodyBytes: maxBody, idleTimeout: idle, limits: limits, now: start)
    }

    func head(_ uri: String = "/v1/chat/completions", method: HTTPMethod = .POST, version: HTTPVersion = .http1_1,
              headers: [(String, String)] = []) -> HTTPServerRequestPart {
        .head(HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers)))
    }

    func body(_ text: String) -> HTTPServerRequestPart { .body(ByteBuffer(string: text)) }

    /// The listener's decision, as the responders make it, minus the live gateway.
    func route(_ head: HTTPRequestHead) -> ConnectionStateMachine.Decision {
        switch head.uri {
        case "/health": .answer(.health)
        case "/admin/reload": .admin(.reload)
        default: .gateway(.chatCompletions, path: "/chat/completions", query: "")
        }
    }

    func feed(_ machine: inout ConnectionStateMachine, _ part: HTTPServerRequestPart, writable: Bool = true,
              at now: NIODeadline? = nil) -> ConnectionStateMachine.Action {
        machine.received(part, writable: writable, now: now ?? start, route: route)
    }

    func dispatched(_ action: ConnectionStateMachine.Action) -> ConnectionStateMachine.Request? {
        if case .dispatch(let request) = action { return request }
        return nil
    }

    @Test func aRequestIsCollectedThenDispatchedWithItsBody() {
        var m = machine()
        #expect(isNone(feed(&m, head())))
        #expect(isNone(feed(&m, body("{\"a\":"))))
        #expect(isNone(feed(&m, body("1}"))))
        let request = dispatched(feed(&m, .end(nil)))
        #expect(request?.body.flatMap(text) == "{\"a\":1}")
        #expect(request?.path == "/chat/completions")
        #expect(!m.isIdle)
        let step1 = m.answerEnded(now: start)
        #expect(step1)  // keep-alive: the next request may come
        #expect(m.isIdle)
    }

    @Test func pipelinedRequestsWaitForTheAnswerInProgressAndAreServedInOrder() {
        var m = machine()
        _ = feed(&m, head("/v1/chat/completions?n=1"))
        #expect(dispatched(feed(&m, .end(nil))) != nil)
        // The second request arrives while the first is being answered: queued, not acted on.
        #expect(isNone(feed(&m, head("/v1/chat/completions?n=2"))))
        #expect(isNone(feed(&m, body("x"))))
        #expect(isNone(feed(&m, .end(nil))))
        let step2 = m.nextBacklogged(writable: true, now: start, route: route)
        #expect(step2 == nil)  // still answering the first
        let step3 = m.answerEnded(now: start)
        #expect(step3)
        let step4 = m.nextBacklogged(writable: true, now: start, route: route)
        #expect(isNone(step4))  // head
        let step5 = m.nextBacklogged(writable: true, now: start, route: route)
        #expect(isNone(step5))  // body
        let second = m.nextBacklogged(writable: true, now: start, route: route).flatMap(dispatched)
        #expect(second?.head.uri == "/v1/chat/completions?n=2")
        #expect(second?.body.flatMap(text) == "x")
        let step6 = m.nextBacklogged(writable: true, now: start, route: route)
        #expect(step6 == nil)
    }

    @Test func aClientThatDoesNotReadItsAnswersIsNotServedAndReadingStops() {
        var m = machine()
        // Not writable: even an idle connection queues what it reads.
        #expect(isNone(feed(&m, head(), writable: false)))
        #expect(isNone(feed(&m, .end(nil), writable: false)))
        let step7 = m.shouldRead(writable: false)
        #expect(!step7)
        let step8 = m.nextBacklogged(writable: false, now: start, route: route)
        #expect(step8 == nil)
        // Writable again: the request is served, and the read held back goes ahead.
        let step9 = m.nextBacklogged(writable: true, now: start, route: route)
        #expect(isNone(step9))
        let step10 = m.nextBacklogged(writable: true, now: start, route: route)!
        #expect(dispatched(step10) != nil)
        let step11 = m.resumeReading(writable: true)
        #expect(step11)
        let step12 = m.resumeReading(writable: true)
        #expect(!step12)  // once
    }

    @Test func readingStopsWhenTheBacklogPassesItsBound() {
        var m = machine(maxBody: 4 << 20)
        _ = feed(&m, head())
        _ = feed(&m, .end(nil))  // responding
        let chunk = String(repeating: "x", count: 64 << 10)
        _ = feed(&m, head())
        for _ in 0..<(ConnectionStateMachine.backlogLimit / (64 << 10)) { _ = feed(&m, body(chunk)) }
        let step13 = m.shouldRead(writable: true)
        #expect(!step13)
        let step14 = m.answerEnded(now: start)
        #expect(step14)
        while let action = m.nextBacklogged(writable: true, now: start, route: route) { _ = action }
        let step15 = m.resumeReading(writable: true)
        #expect(step15)
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedAtTheHeadAndTheConnectionCloses() {
        var m = machine(maxBody: 10)
        guard case .reject(let error, let request) = feed(&m, head(headers: [("content-length", "11")])) else {
            Issue.record("expected a 413")
            return
        }
        #expect(error.status == 413)
        #expect(request.body == nil)
        #expect(!m.keepAlive)
        #expect(isNone(feed(&m, body("01234567890"))))  // not collected
        let step16 = m.answerEnded(now: start)
        #expect(!step16)  // close
        #expect(isNone(feed(&m, head())))  // discarding: nothing more is served
        #expect(isNone(feed(&m, .end(nil))))
    }

    @Test func aBodyThatGrowsOverTheLimitIsRefusedWithWhatArrived() {
        var m = machine(maxBody: 10)
        _ = feed(&m, head(headers: [("transfer-encoding", "chunked")]))
        #expect(isNone(feed(&m, body("012345"))))
        guard case .reject(let error, let request) = feed(&m, body("6789X")) else {
            Issue.record("expected a 413")
            return
        }
        #expect(error.status == 413)
        #expect(request.body.flatMap(text) == "012345")
        #expect(isNone(feed(&m, .end(nil))))  // no dispatch after the refusal
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() {
        var m = machine()
        guard case .sendContinue = feed(&m, head(headers: [("expect", "100-Continue"), ("content-length", "2")])) else {
            Issue.record("expected 100 Continue")
            return
        }
        _ = feed(&m, body("{}"))
        #expect(dispatched(feed(&m, .end(nil)))?.body.flatMap(text) == "{}")
    }

    @Test func theListenersOwnAnswersComeAfterTheBodyIsRead() {
        var m = machine()
        #expect(isNone(feed(&m, head("/health", method: .GET))))
        guard case .answer(let answer) = feed(&m, .end(nil)) else {
            Issue.record("expected the health answer")
            return
        }
        #expect(answer.status == 200)
        let step17 = m.answerEnded(now: start)
        #expect(step17)
        _ = feed(&m, head("/admin/reload"))
        _ = feed(&m, body("ignored"))
        guard case .runAdmin(.reload) = feed(&m, .end(nil)) else {
            Issue.record("expected the admin action")
            return
        }
    }

    @Test func http10WithoutKeepAliveClosesAfterTheAnswer() {
        var m = machine()
        _ = feed(&m, head(version: .http1_0))
        _ = feed(&m, .end(nil))
        #expect(!m.keepAlive)
        let step18 = m.answerEnded(now: start)
        #expect(!step18)
        var k = machine()
        _ = feed(&k, head(version: .http1_0, headers: [("connection", "keep-alive")]))
        _ = feed(&k, .end(nil))
        let step19 = k.answerEnded(now: start)
        #expect(step19)
    }

    @Test func aNewConnectionThatSendsNothingIsClosedSilentlyAtTheHeadDeadline() {
        var m = machine()
        let step20 = m.checkDeadlines(now: start + .seconds(9), writable: true)
        #expect(step20 == .none)
        let step21 = m.checkDeadlines(now: start + .seconds(10), writable: true)
        #expect(step21 == .closeSilent)
    }

    @Test func aHeadTricklingInPastTheDeadlineGets408() {
        var m = machine()
        m.activity(now: start + .seconds(5))  // bytes of a head, steadily
        m.activity(now: start + .seconds(9))
        guard case .timeOut(let message, headTimeout: true) = m.checkDeadlines(now: start + .seconds(10), writable: true) else {
            Issue.record("expected a 408 for the head")
            return
        }
        let (error, refused) = m.timeOut(message)
        #expect(error.status == 408)
        #expect(refused == nil)
        #expect(!m.keepAlive)
        let step22 = m.answerEnded(now: start + .seconds(10))
        #expect(!step22)
    }

    @Test func anIdleKeepAliveConnectionIsClosedAtTheIdleTimeoutNotTheHeadDeadline() {
        var m = machine(idle: .seconds(60))
        _ = feed(&m, head())
        _ = feed(&m, .end(nil))
        let step23 = m.answerEnded(now: start + .seconds(1))
        #expect(step23)
        let step24 = m.checkDeadlines(now: start + .seconds(30), writable: true)
        #expect(step24 == .none)  // past the head deadline: fine
        let step25 = m.checkDeadlines(now: start + .seconds(61), writable: true)
        #expect(step25 == .close)
    }

    @Test func aStalledOrSlowBodyGets408AndTheRequestIsReportedRefused() {
        var m = machine(maxBody: 1 << 20, idle: .seconds(60))
        _ = feed(&m, head())
        _ = feed(&m, body("abc"))
        // 3 bytes in 20 s: below 100 B/s after the grace (the head deadline, 10 s).
        guard case .timeOut(let message, headTimeout: false) = m.checkDeadlines(now: start + .seconds(20), writable: true) else {
            Issue.record("expected a 408 for the slow body")
            return
        }
        #expect(message.contains("slower than 100 bytes/s"))
        let (_, refused) = m.timeOut(message)
        #expect(refused?.body.flatMap(text) == "abc")
        var silent = machine(maxBody: 1 << 20, idle: .seconds(5))
        _ = feed(&silent, head())
        guard case .timeOut(let idleMessage, headTimeout: false) = silent.checkDeadlines(now: start + .seconds(6), writable: true) else {
            Issue.record("expected a 408 for the silent request")
            return
        }
        #expect(idleMessage.contains("not received completely within 5 s"))
    }

    @Test func aRequestBeingAnsweredIsNeverCutByTheClientDeadlines() {
        var m = machine(idle: .seconds(5))
        _ = feed(&m, head())
        _ = feed(&m, .end(nil))
        let step26 = m.checkDeadlines(now: start + .seconds(3600), writable: true)
        #expect(step26 == .none)
    }

    @Test func quiescingClosesAnIdleConnectionAndEndsABusyOneAfterItsAnswer() {
        var idle = machine()
        let step27 = idle.quiesce()
        #expect(step27)
        var busy = machine()
        _ = feed(&busy, head())
        _ = feed(&busy, .end(nil))
        let step28 = busy.quiesce()
        #expect(!step28)
        let step29 = busy.answerEnded(now: start)
        #expect(!step29)
    }

    @Test func malformedBytesGet400UnlessAnAnswerBegan() {
        var m = machine()
        let step30 = m.malformed("invalid method")
        #expect(step30?.status == 400)
        #expect(!m.keepAlive)
        var busy = machine()
        _ = feed(&busy, head())
        _ = feed(&busy, .end(nil))
        let step31 = busy.malformed("junk")
        #expect(step31 == nil)
    }

    func text(_ buffer: ByteBuffer) -> String? { buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes) }

    func isNone(_ action: ConnectionStateMachine.Action?) -> Bool {
        if case .some(.none) = action { return true }
        return false
    }
}
