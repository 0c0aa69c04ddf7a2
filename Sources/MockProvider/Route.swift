import Foundation
import NIOHTTP1

/// Which endpoint a request addresses, decided from method and path alone.
enum Route: Sendable {
    case chatCompletions
    case completions
    case embeddings
    case listModels
    case retrieveModel(String)
    case messages
    case countMessageTokens
    case responses
    case gemini(model: String, action: GeminiAction)
    case echo
    /// Images, audio, rerank, moderations, files and batches (issue 19), matched by `ExtraRoute`.
    case extra(ExtraRoute)
    /// `GET /mock/stats`: the process counters, for tests that check what reached the upstream.
    case stats
    /// `POST /mock/fixtures/<name>`: stores a canned answer (see `Fixture`).
    case storeFixture(String)
    /// `GET /mock/fixtures/<name>`: the stored answer itself (e.g. an image for URL fetching).
    case fixture(String)
    /// `GET /mock/last-request`: what the last fixture-answered request carried.
    case lastRequest
    case methodNotAllowed(Dialect)
    case notFound(Dialect)

    enum GeminiAction: Sendable {
        case generate, stream, countTokens
    }

    init(method: HTTPMethod, path: Substring) {
        let path = path.count > 1 && path.hasSuffix("/") ? path.dropLast() : path
        func post(_ route: Route, _ dialect: Dialect = .openAI) -> Route {
            method == .POST ? route : .methodNotAllowed(dialect)
        }
        switch path {
        case "/v1/chat/completions": self = post(.chatCompletions)
        case "/v1/completions": self = post(.completions)
        case "/v1/embeddings": self = post(.embeddings)
        case "/v1/messages": self = post(.messages, .anthropic)
        case "/v1/responses": self = post(.responses)
        case "/v1/messages/count_tokens": self = post(.countMessageTokens, .anthropic)
        case "/v1/models": self = method == .GET ? .listModels : .methodNotAllowed(.openAI)
        case "/v1/echo": self = .echo
        case "/mock/stats": self = method == .GET ? .stats : .methodNotAllowed(.openAI)
        case "/mock/last-request": self = method == .GET ? .lastRequest : .methodNotAllowed(.openAI)
        default:
            if let extra = ExtraRoute.match(method: method, path: path) {
                self = extra
            } else if let name = path.stripping("/mock/fixtures/"), !name.isEmpty, method == .POST {
                self = .storeFixture(String(name))
            } else if let name = path.stripping("/mock/fixtures/"), !name.isEmpty, method == .GET {
                self = .fixture(String(name))
            } else if path.hasPrefix("/v1/echo/") {
                self = .echo
            } else if let rest = path.stripping("/v1beta/models/") {
                self = Self.gemini(method: method, rest)
            } else if let rest = path.stripping("/v1/models/") {
                if rest.contains(":") {
                    self = Self.gemini(method: method, rest)
                } else {
                    self = method == .GET ? .retrieveModel(String(rest)) : .methodNotAllowed(.openAI)
                }
            } else {
                self = .notFound(path.hasPrefix("/v1beta/") ? .gemini : .openAI)
            }
        }
    }

    /// `{model}:{action}` under `models/`.
    private static func gemini(method: HTTPMethod, _ rest: Substring) -> Route {
        guard let colon = rest.lastIndex(of: ":") else { return .notFound(.gemini) }
        let rawModel = String(rest[..<colon])
        let model = rawModel.removingPercentEncoding ?? rawModel
        let action: GeminiAction
        switch rest[rest.index(after: colon)...] {
        case "generateContent": action = .generate
        case "streamGenerateContent": action = .stream
        case "countTokens": action = .countTokens
        default: return .notFound(.gemini)
        }
        guard !model.isEmpty else { return .notFound(.gemini) }
        return method == .POST ? .gemini(model: model, action: action) : .methodNotAllowed(.gemini)
    }

    /// The error dialect of this path.
    var dialect: Dialect {
        switch self {
        case .messages, .countMessageTokens: .anthropic
        case .gemini: .gemini
        case .extra(let extra): extra.dialect
        case .methodNotAllowed(let dialect), .notFound(let dialect): dialect
        default: .openAI
        }
    }

    /// Endpoints whose body must be a JSON object (a bad one is a 400).
    var takesJSON: Bool {
        switch self {
        case .chatCompletions, .completions, .embeddings, .messages, .countMessageTokens, .responses, .gemini: true
        case .extra(let extra): extra.takesJSON
        default: false
        }
    }
}

extension Substring {
    /// The remainder after `prefix`, or nil when it does not start with it.
    func stripping(_ prefix: String) -> Substring? {
        hasPrefix(prefix) ? self.dropFirst(prefix.count) : nil
    }
}
