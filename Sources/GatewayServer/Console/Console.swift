import GatewayCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The operators' console at `/console`: a page (static files bundled with the binary), a live
/// feed of finished requests over SSE, and the loaded state. It exists only when an admin token is
/// configured, and needs it.
///
/// A browser cannot add `Authorization` to a navigation, so the page without a session is a small
/// static login page; its script posts the token (`Authorization: Bearer`) to
/// `POST /console/session`, which sets an HttpOnly, SameSite=Strict cookie holding a random session
/// id the gateway remembers (never the token). The page and every `/console/*` data endpoint accept
/// that cookie or the admin token itself (scripts, tests). The static files (login page, script,
/// style) hold no data.
final class Console: Sendable {
    let admin: AdminEndpoints
    let feed: ConsoleFeed
    let sessions = ConsoleSessions()

    init(admin: AdminEndpoints, feed: ConsoleFeed) {
        self.admin = admin
        self.feed = feed
    }

    static let cookieName = "switchboard_console"

    /// The admin token, or a live session cookie.
    func authorizes(_ headers: HTTPHeaders) -> Bool {
        if admin.authorizes(headers) { return true }
        guard let session = Self.sessionCookie(headers) else { return false }
        return sessions.isValid(session, now: .now())
    }

    static func sessionCookie(_ headers: HTTPHeaders) -> String? {
        for header in headers[canonicalForm: "cookie"] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                if trimmed.hasPrefix(cookieName + "=") {
                    return String(trimmed.dropFirst(cookieName.utf8.count + 1))
                }
            }
        }
        return nil
    }

    func decide(_ route: ConsoleRoute, head: HTTPRequestHead) -> ConnectionStateMachine.Decision {
        switch route {
        case .asset(let asset):
            return .answer(asset.response)
        case .page:
            return .answer(authorizes(head.headers) ? ConsoleAsset.page.response : ConsoleAsset.login.response)
        case .login:
            // Only the token opens a session (a session cannot extend itself).
            guard admin.authorizes(head.headers) else { return .answer(Self.unauthorized) }
            let id = sessions.open(now: .now())
            let secure = head.headers.first(name: "x-forwarded-proto")?.lowercased() == "https" ? "; Secure" : ""
            let cookie = "\(Self.cookieName)=\(id); Path=/console; HttpOnly; SameSite=Strict; Max-Age=\(ConsoleSessions.lifetimeSeconds)\(secure)"
            return .answer(ImmediateResponse(status: 204, headers: [("set-cookie", cookie), ("cache-control", "no-store")],
                                             body: ByteBuffer()))
        case .logout:
            if let session = Self.sessionCookie(head.headers) { sessions.close(session) }
            let cookie = "\(Self.cookieName)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
            return .answer(ImmediateResponse(status: 204, headers: [("set-cookie", cookie), ("cache-control", "no-store")],
                                             body: ByteBuffer()))
        case .feed:
            return authorizes(head.headers) ? .feed : .answer(Self.unauthorized)
        case .state:
            // What `GET /admin/scripts` answers: one source for both.
            return authorizes(head.headers) ? .admin(.scripts) : .answer(Self.unauthorized)
        }
    }

    static var unauthorized: ImmediateResponse {
        .error(GatewayError(status: 401, type: .authentication,
                            message: "the console needs the admin token (Authorization: Bearer <token>) or a console session",
                            code: .invalidAdminToken))
    }
}

/// Where a `/console` request goes, from its method and path.
enum ConsoleRoute: Equatable {
    case page, asset(ConsoleAsset), login, logout, feed, state

    static func resolve(method: HTTPMethod, path: Substring) -> Route {
        func only(_ allowed: HTTPMethod, _ route: ConsoleRoute, head: Bool = true) -> Route {
            guard method == allowed || (allowed == .GET && head && method == .HEAD) else {
                return .answer(.error(.methodNotAllowed(method: method.rawValue, path: String(path), allowed: [allowed.rawValue])))
            }
            return .console(route)
        }
        switch path {
        case "/console", "/console/": return only(.GET, .page)
        case "/console/console.js": return only(.GET, .asset(.script))
        case "/console/console.css": return only(.GET, .asset(.style))
        case "/console/feed": return only(.GET, .feed, head: false)  // a HEAD would be a stream of nothing
        case "/console/state": return only(.GET, .state)
        case "/console/session":
            if method == .DELETE { return .console(.logout) }
            return only(.POST, .login)
        default: return .answer(.error(.notFound(method: method.rawValue, path: String(path))))
        }
    }
}

/// The console's files, embedded in the binary by SwiftPM (`resources: [.embedInCode(…)]` in
/// Package.swift generates `PackageResources.<file>` byte arrays; no Foundation bundle).
enum ConsoleAsset: Equatable {
    case login, page, script, style

    /// Self only: no inline script or style, no other origin (the page draws its charts itself).
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    var response: ImmediateResponse {
        switch self {
        case .login: Self.loginResponse
        case .page: Self.pageResponse
        case .script: Self.scriptResponse
        case .style: Self.styleResponse
        }
    }

    private static func file(_ bytes: [UInt8], type: String) -> ImmediateResponse {
        ImmediateResponse(status: 200, headers: [
            ("content-type", type),
            ("content-security-policy", contentSecurityPolicy),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            // The page at /console is the login page or the console, by session: never cached.
            ("cache-control", "no-store"),
        ], body: ByteBuffer(bytes: bytes))
    }

    private static let loginResponse = file(PackageResources.login_html, type: "text/html; charset=utf-8")
    private static let pageResponse = file(PackageResources.console_html, type: "text/html; charset=utf-8")
    private static let scriptResponse = file(PackageResources.console_js, type: "text/javascript; charset=utf-8")
    private static let styleResponse = file(PackageResources.console_css, type: "text/css; charset=utf-8")
}

/// Console sessions: random ids the gateway remembers for ``lifetimeSeconds``, at most
/// ``maxSessions`` (the oldest goes first). Lost on restart (log in again).
final class ConsoleSessions: Sendable {
    static let lifetimeSeconds: Int64 = 12 * 3600
    static let maxSessions = 64

    private let sessions = NIOLockedValueBox<[(id: String, expires: NIODeadline)]>([])

    /// A new session id: 256 random bits from the system's generator, in hex.
    func open(now: NIODeadline) -> String {
        var generator = SystemRandomNumberGenerator()
        var id = ""
        for _ in 0..<4 {
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            id += String(repeating: "0", count: 16 - hex.utf8.count) + hex
        }
        let expires = now + .seconds(Self.lifetimeSeconds)
        sessions.withLockedValue { sessions in
            sessions.removeAll { $0.expires <= now }
            if sessions.count >= Self.maxSessions { sessions.removeFirst() }
            sessions.append((id, expires))
        }
        return id
    }

    /// Compares against every live session in constant time (no early exit on a match).
    func isValid(_ presented: String, now: NIODeadline) -> Bool {
        sessions.withLockedValue { sessions in
            sessions.reduce(false) { found, session in (constantTimeEquals(presented, session.id) && session.expires > now) || found }
        }
    }

    func close(_ presented: String) {
        sessions.withLockedValue { sessions in sessions.removeAll { constantTimeEquals(presented, $0.id) } }
    }

    var count: Int { sessions.withLockedValue { $0.count } }
}
