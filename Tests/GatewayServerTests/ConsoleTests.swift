import GatewayCore
import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayServer

/// The console's listener side without sockets: its routes, its sessions and its token check, and
/// the feed's place in the connection's state machine.
@Suite struct ConsoleTests {
    let console = Console(admin: AdminEndpoints(token: "adm-token") { _ in (200, "{}") }, feed: ConsoleFeed())

    func head(_ uri: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    func decide(_ uri: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) -> ConnectionStateMachine.Decision {
        guard case .console(let route) = Route.resolve(method: method, uri: uri) else {
            Issue.record("\(method) \(uri) is not a console route")
            return .answer(.health)
        }
        return console.decide(route, head: head(uri, method: method, headers: headers))
    }

    func status(_ decision: ConnectionStateMachine.Decision) -> Int? {
        if case .answer(let response) = decision { return response.status }
        return nil
    }

    func header(_ decision: ConnectionStateMachine.Decision, _ name: String) -> String? {
        guard case .answer(let response) = decision else { return nil }
        return response.headers.first { $0.0 == name }?.1
    }

    @Test func withoutASessionThePageIsTheLoginPageAndDataIsRefused() {
        let page = decide("/console")
        #expect(status(page) == 200)
        guard case .answer(let response) = page else { return }
        let html = String(buffer: response.body)
        #expect(html.contains(#"id="login""#) && !html.contains("feed-body"))
        #expect(header(page, "content-security-policy")?.contains("default-src 'self'") == true)
        #expect(status(decide("/console/feed")) == 401)
        #expect(status(decide("/console/state")) == 401)
        #expect(status(decide("/console/state", headers: [("authorization", "Bearer wrong")])) == 401)
        #expect(status(decide("/console/session", method: .POST, headers: [("authorization", "Bearer wrong")])) == 401)
    }

    @Test func theTokenOpensASessionWhoseCookieOpensTheConsole() throws {
        let login = decide("/console/session", method: .POST, headers: [("authorization", "Bearer adm-token")])
        #expect(status(login) == 204)
        let cookie = try #require(header(login, "set-cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("adm-token"))
        let value = try #require(cookie.split(separator: ";").first).split(separator: "=", maxSplits: 1)[1]
        #expect(value.count == 64)
        let withCookie = [("cookie", "other=1; \(Console.cookieName)=\(value)")]
        guard case .answer(let page) = decide("/console", headers: withCookie) else { Issue.record("no page"); return }
        #expect(String(buffer: page.body).contains("feed-body"))
        guard case .feed = decide("/console/feed", headers: withCookie) else { Issue.record("the cookie should open the feed"); return }
        guard case .admin(.scripts) = decide("/console/state", headers: withCookie) else { Issue.record("state"); return }
        // The token itself works for scripts, without a session.
        guard case .feed = decide("/console/feed", headers: [("authorization", "Bearer adm-token")]) else { Issue.record("token"); return }
        // A session cannot open another one, and signing out ends it.
        #expect(status(decide("/console/session", method: .POST, headers: withCookie)) == 401)
        #expect(status(decide("/console/session", method: .DELETE, headers: withCookie)) == 204)
        #expect(status(decide("/console/feed", headers: withCookie)) == 401)
    }

    @Test func sessionsExpireAndAreBounded() {
        let sessions = ConsoleSessions()
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let id = sessions.open(now: now)
        #expect(sessions.isValid(id, now: now))
        #expect(!sessions.isValid(id + "0", now: now))
        #expect(!sessions.isValid(id, now: now + .seconds(ConsoleSessions.lifetimeSeconds)))
        for _ in 0..<(ConsoleSessions.maxSessions + 5) { _ = sessions.open(now: now) }
        #expect(sessions.count == ConsoleSessions.maxSessions)
        #expect(!sessions.isValid(id, now: now))  // the oldest went first
    }

    @Test func routesAndMethods() {
        #expect(status(decide("/console/console.js")) == 200)
        #expect(header(decide("/console/console.css"), "content-type") == "text/css; charset=utf-8")
        for method in [HTTPMethod.POST, .HEAD] {
            if case .answer(let response) = Route.resolve(method: method, uri: "/console/feed") {
                #expect(response.status == 405)
            } else {
                Issue.record("\(method) /console/feed should be refused")
            }
        }
        if case .answer(let response) = Route.resolve(method: .GET, uri: "/console/nothing") {
            #expect(response.status == 404)
        } else {
            Issue.record("an unknown console path should be 404")
        }
    }

    @Test func theFeedHoldsTheConnectionUntilItCloses() {
        var machine = ConnectionStateMachine(maxBodyBytes: 100, idleTimeout: .seconds(60), limits: ClientLimits(),
                                             now: .uptimeNanoseconds(0))
        let route: (HTTPRequestHead) -> ConnectionStateMachine.Decision = { _ in .feed }
        _ = machine.received(.head(head("/console/feed")), writable: true, now: .uptimeNanoseconds(0), route: route)
        guard case .startFeed = machine.received(.end(nil), writable: true, now: .uptimeNanoseconds(0), route: route) else {
            Issue.record("expected the feed to start")
            return
        }
        #expect(!machine.keepAlive)  // the feed ends with its connection
        // A request pipelined behind the feed waits; nothing times the feed out.
        #expect(machine.checkDeadlines(now: .uptimeNanoseconds(0) + .seconds(600), writable: true) == .none)
    }
}
