import GatewayCore
import LuaRuntime
import Logging
import NIOCore
import NIOHTTP1

/// What every connection of one listener shares. A class: each connection and each request
/// passes it on, and a struct of eleven references would be retained eleven times per copy.
final class ConnectionShared: Sendable {
    let gateway: Gateway
    let logger: Logger
    let maxRequestBodyBytes: Int
    /// Admin endpoints exist only when a token is configured, and need it.
    let admin: AdminEndpoints?
    /// The console page and its feed: with the admin endpoints, behind the same token.
    let console: Console?
    let metrics: (@Sendable () -> [UInt8])?
    /// Close connections silent this long between requests (408 when mid-request); nil: never.
    let idleTimeout: TimeAmount?
    let lifecycle: Lifecycle
    /// Head deadline, body minimum rate, connection cap.
    let limits: ClientLimits

    init(gateway: Gateway, logger: Logger, maxRequestBodyBytes: Int, admin: AdminEndpoints?,
         metrics: (@Sendable () -> [UInt8])?, idleTimeout: TimeAmount?, lifecycle: Lifecycle, limits: ClientLimits) {
        self.gateway = gateway
        self.logger = logger
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.admin = admin
        self.console = admin.map { Console(admin: $0, feed: gateway.observer.console) }
        self.metrics = metrics
        self.idleTimeout = idleTimeout
        self.lifecycle = lifecycle
        self.limits = limits
    }
}

/// The admin endpoints (`POST /admin/reload`, `GET /admin/scripts`).
public enum AdminAction: Sendable {
    case reload, scripts
}

/// Serves admin requests; provided by the executable (it owns reloads of scripts and configs).
public struct AdminEndpoints: Sendable {
    public let token: String
    public let handle: @Sendable (AdminAction) async -> (status: Int, json: String)

    public init(token: String, handle: @escaping @Sendable (AdminAction) async -> (status: Int, json: String)) {
        self.token = token
        self.handle = handle
    }

    /// Constant-time comparison of the presented token.
    func authorizes(_ headers: HTTPHeaders) -> Bool {
        var presented = headers.first(name: "x-admin-token") ?? ""
        if let authorization = headers.first(name: "authorization"), authorization.lowercased().hasPrefix("bearer ") {
            presented = String(authorization.dropFirst(7))
        }
        return !token.isEmpty && constantTimeEquals(presented, token)
    }
}

/// Where a request goes, decided from its method and path alone (before its body arrives), so
/// unknown routes and wrong methods get precise OpenAI-shaped errors (404 vs 405) and the hot path
/// pays for no router tree.
enum Route {
    /// Answered by the listener itself.
    case answer(ImmediateResponse)
    /// Proxied through the gateway; `path` is what follows `/v1`.
    case gateway(Endpoint, path: String, query: String)
    case admin(AdminAction)
    /// `GET /ready`: scripts loaded and listening; 503 while draining.
    case ready
    /// `GET /metrics`: Prometheus text exposition.
    case metrics
    /// `/console` and below (see ``ConsoleRoute``).
    case console(ConsoleRoute)

    /// Standard endpoints and the one method each accepts.
    static let endpoints: [String: (Endpoint, HTTPMethod)] = [
        "/v1/chat/completions": (.chatCompletions, .POST),
        "/v1/completions": (.completions, .POST),
        "/v1/embeddings": (.embeddings, .POST),
        "/v1/models": (.models, .GET),
        "/v1/messages": (.messages, .POST),
        "/v1/messages/count_tokens": (.countTokens, .POST),
        "/v1/responses": (.responses, .POST),
        "/v1/images/generations": (.imageGenerations, .POST),
        "/v1/images/edits": (.imageEdits, .POST),
        "/v1/images/variations": (.imageVariations, .POST),
        "/v1/audio/speech": (.speech, .POST),
        "/v1/audio/transcriptions": (.transcriptions, .POST),
        "/v1/audio/translations": (.translations, .POST),
        "/v1/rerank": (.rerank, .POST),
        "/v1/moderations": (.moderations, .POST),
        "/v1/realtime": (.realtime, .GET),
    ]


    static func resolve(method: HTTPMethod, uri: String) -> Route {
        let path: Substring
        let query: Substring
        if let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = uri[..<mark]
            query = uri[uri.index(after: mark)...]
        } else {
            path = Substring(uri)
            query = ""
        }
        if path == "/ready" {
            guard method == .GET || method == .HEAD else {
                return .answer(.error(.methodNotAllowed(method: method.rawValue, path: String(path), allowed: ["GET"])))
            }
            return .ready
        }
        if path == "/metrics" {
            guard method == .GET || method == .HEAD else {
                return .answer(.error(.methodNotAllowed(method: method.rawValue, path: String(path), allowed: ["GET"])))
            }
            return .metrics
        }
        if path == "/" || path == "/health" {
            guard method == .GET || method == .HEAD else {
                return .answer(.error(.methodNotAllowed(method: method.rawValue, path: String(path), allowed: ["GET"])))
            }
            return .answer(.health)
        }
        if let (endpoint, allowed) = endpoints[String(path)] {
            guard method == allowed else {
                return .answer(.error(.methodNotAllowed(method: method.rawValue, path: String(path),
                                                        allowed: [allowed.rawValue])))
            }
            return .gateway(endpoint, path: String(path.dropFirst(3)), query: String(query))
        }
        if path == "/admin/reload" || path == "/admin/scripts" {
            let action: AdminAction = path == "/admin/reload" ? .reload : .scripts
            let allowed: HTTPMethod = action == .reload ? .POST : .GET
            guard method == allowed else {
                return .answer(.error(.methodNotAllowed(method: method.rawValue, path: String(path), allowed: [allowed.rawValue])))
            }
            return .admin(action)
        }
        if path.hasPrefix("/v1/") {
            if let tree = Endpoint.tree(containing: path) {
                return .gateway(tree, path: String(path.dropFirst(3)), query: String(query))
            }
            return .gateway(.passthrough, path: String(path.dropFirst(3)), query: String(query))
        }
        if path == "/console" || path.hasPrefix("/console/") {
            return ConsoleRoute.resolve(method: method, path: path)
        }
        return .answer(.error(.notFound(method: method.rawValue, path: String(path))))
    }
}

/// A response the listener writes without the gateway.
struct ImmediateResponse {
    var status: Int
    var headers: [(String, String)]
    var body: ByteBuffer

    static let health = ImmediateResponse(
        status: 200, headers: [("content-type", "application/json")], body: ByteBuffer(string: #"{"status":"ok"}"#))

    /// - Parameter dialect: the client's dialect, whose error shape the body takes.
    static func error(_ error: GatewayError, traceID: String? = nil, provider: String? = nil,
                      dialect: ClientDialect = .openAI) -> ImmediateResponse {
        var headers = [("content-type", "application/json")]
        headers.append(contentsOf: error.headers)
        if let traceID { headers.append(("x-portkey-trace-id", traceID)) }
        if let provider { headers.append(("x-portkey-provider", provider)) }
        return ImmediateResponse(status: error.status, headers: headers,
                                 body: ByteBuffer(bytes: dialect.errorBody(error)))
    }
}

extension ConnectionShared {
    /// The listener's small responders: health, ready, metrics and the admin token check answer
    /// here; everything else is for the gateway.
    func decide(_ head: HTTPRequestHead) -> ConnectionStateMachine.Decision {
        switch Route.resolve(method: head.method, uri: head.uri) {
        case .answer(let response):
            return .answer(response)
        case .ready:
            if lifecycle.isDraining {
                return .answer(ImmediateResponse(status: 503, headers: [("content-type", "application/json")],
                                                 body: ByteBuffer(string: #"{"status":"draining"}"#)))
            }
            let generation = gateway.scripts.current.number
            return .answer(ImmediateResponse(status: 200, headers: [("content-type", "application/json")],
                                             body: ByteBuffer(string: #"{"status":"ready","generation":\#(generation)}"#)))
        case .metrics:
            guard let render = metrics else {
                return .answer(.error(.notFound(method: head.method.rawValue, path: head.uri)))
            }
            return .answer(ImmediateResponse(status: 200, headers: [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                                             body: ByteBuffer(bytes: render())))
        case .admin(let action):
            guard let admin else {
                return .answer(.error(.notFound(method: head.method.rawValue, path: head.uri)))
            }
            guard admin.authorizes(head.headers) else {
                return .answer(.error(GatewayError(status: 401, type: .authentication,
                                                   message: "admin endpoints need the admin token (Authorization: Bearer <token>)",
                                                   code: .invalidAdminToken)))
            }
            return .admin(action)
        case .console(let route):
            guard let console else {
                return .answer(.error(.notFound(method: head.method.rawValue, path: head.uri)))
            }
            return console.decide(route, head: head)
        case .gateway(let endpoint, let path, let query):
            return .gateway(endpoint, path: path, query: query)
        }
    }
}
