/// How a provider serves one client endpoint: the values of its `endpoints` table.
public enum EndpointMode: String, Sendable, Equatable {
    /// `prepare(ctx)` builds the upstream request; the provider speaks the client's dialect, so the
    /// answer (and an error) is relayed as it is.
    case native
    /// `prepare(ctx)` builds the upstream request and `response`/`stream` translate the answer.
    case translate
    /// The client's request is sent as it is (method, path, query, body, headers without its key)
    /// to the base URL `auth(ctx)` returns, with the headers it returns; nothing is translated.
    case passthrough
}

/// What a provider script declares about itself (read once when a generation loads).
public struct ProviderInfo: Sendable, Equatable {
    /// The provider id: the script's file name without `.lua`.
    public var id: String
    /// Human-readable name (`name` in the script), defaulting to the id.
    public var name: String
    /// Default base URL including the API version path; a custom host replaces exactly this.
    public var baseURL: String?
    /// How each client endpoint is served, by endpoint ("chat/completions", "messages", …; `"*"`
    /// for every other `/v1` path). An endpoint not in the table is served through a converter
    /// (``ConverterInfo``) to one that is, or refused.
    public var endpoints: [String: EndpointMode]
    /// Whether a request without a provider key is refused before going upstream.
    public var requiresKey: Bool
    /// Whether `prepare` wants the request body decoded into `ctx.body`.
    public var decodesBody: Bool
    /// Whether the script translates complete responses (`response(ctx, res)`).
    public var translatesResponses: Bool = false
    /// Whether the script translates event streams (`stream(ctx, event)`).
    public var translatesStreams: Bool = false
    /// The script's path, e.g. `providers/groq.lua`.
    public var file: String
    /// Settings that decide the host a request is sent to (`host_settings` in the script), e.g. a
    /// resource name or region in the base URL. A client may not supply them with a key the gateway
    /// holds (see `CredentialScope` in GatewayCore).
    public var hostSettings: Set<String> = []
    /// Settings that carry a credential (`credential_settings` in the script), e.g. an AWS secret:
    /// written in a named config, they are a key the gateway holds, like its `api_key`.
    public var credentialSettings: Set<String> = []
    /// Client headers sent on to this provider (`client_headers` in the script), e.g. a beta-feature
    /// header of its own API; other client headers are not forwarded except on passthrough.
    public var clientHeaders: [String] = []
    /// Whether the script has `error(ctx, res)`, which classifies the provider's error answers.
    public var classifiesErrors: Bool = false
    /// The provider's name in the OpenTelemetry GenAI conventions (`semconv_name` in the script,
    /// e.g. `aws.bedrock`) for `gen_ai.provider.name`; nil: the id is used.
    public var conventionName: String? = nil
    /// What the provider table in providers/README.md says of it; nil when the script says nothing.
    /// One reference: a ProviderInfo is copied on every request, and this is never read there.
    public var about: ProviderAbout? = nil

    /// What a provider serves when its script does not say.
    public static let standardEndpoints = ["chat/completions", "completions", "embeddings", "models"]
    /// The endpoints an `endpoints` table may name: the gateway's client endpoints, and `"*"`.
    /// (GatewayCore's `Endpoint`, whose cases a test checks against this list.)
    public static let knownEndpoints: Set<String> = [
        "chat/completions", "completions", "embeddings", "models", "messages", "messages/count_tokens", "responses",
        "images/generations", "images/edits", "images/variations", "audio/speech", "audio/transcriptions",
        "audio/translations", "rerank", "moderations", "files", "batches", "realtime", "*",
    ]

    /// How the provider serves `endpoint` (`"*"` for a passthrough path), nil when it does not.
    public func mode(for endpoint: String) -> EndpointMode? { endpoints[endpoint] }

    /// The endpoints the provider lists, for error messages (`"*"` shown as "other /v1 paths").
    public var servedEndpoints: [String] {
        endpoints.keys.filter { $0 != "*" }.sorted().map { "/v1/" + $0 }
            + (endpoints["*"] != nil ? ["other /v1 paths the gateway does not name (passed through)"] : [])
    }
}

/// A provider's `docs`, `auth_scheme` and `notes`: the API reference it was written from, its auth,
/// one line of notes (the generated providers table).
public final class ProviderAbout: Sendable, Equatable {
    public let docs: String?
    public let authScheme: String?
    public let notes: String?

    public init?(docs: String?, authScheme: String?, notes: String?) {
        guard docs != nil || authScheme != nil || notes != nil else { return nil }
        self.docs = docs
        self.authScheme = authScheme
        self.notes = notes
    }

    public static func == (a: ProviderAbout, b: ProviderAbout) -> Bool {
        a.docs == b.docs && a.authScheme == b.authScheme && a.notes == b.notes
    }
}

/// A converter: a `providers/lib` module named by direction (`messages_to_chat.lua`) that declares
/// `from` and `to` (endpoint names for client dialects, e.g. `from = "messages"`,
/// `to = "chat/completions"`) and translates requests (`request(ctx, body)`), answers
/// (`response(ctx, provider, res)`) and stream events (`stream(ctx, provider, event)`).
public final class ConverterInfo: Sendable, Equatable {
    /// The module name, e.g. `messages_to_chat`.
    public let module: String
    public let from: String
    public let to: String
    /// The file, e.g. `providers/lib/messages_to_chat.lua`.
    public let file: String
    /// The converter's `params` table: each top-level request field of the `from` dialect to
    /// `"mapped"`, `"refused"` or `"dropped: <reason>"` (map or refuse, never drop silently).
    /// `nil` when the module declares none (a user's converter may not).
    public let params: [String: String]?

    public init(module: String, from: String, to: String, file: String, params: [String: String]? = nil) {
        self.module = module
        self.from = from
        self.to = to
        self.file = file
        self.params = params
    }

    public static func == (a: ConverterInfo, b: ConverterInfo) -> Bool {
        a.module == b.module && a.from == b.from && a.to == b.to && a.file == b.file && a.params == b.params
    }
}

/// The request facts a provider's `prepare(ctx)` receives.
public struct PrepareContext: Sendable {
    public var endpoint: String
    public var method: String
    /// Path after the client's `/v1` prefix, e.g. `/chat/completions`.
    public var path: String
    /// Raw query without `?`.
    public var query: String
    public var customHost: String?
    public var apiKey: String?
    public var model: String?
    /// Provider settings from `x-portkey-*` headers or a config target.
    public var settings: [(String, String)]
    /// The request body, decoded into `ctx.body` only for providers that declare `decode_body`.
    public var body: [UInt8]?
    /// Whether `body` is JSON (the gateway scanned it); otherwise a decoding provider gets the bytes
    /// as `ctx.body_text`.
    public var bodyIsJSON = true
    /// A converter to translate through: its `request(ctx, body)` turns the client's body into a
    /// request of the converter's `to` endpoint before `prepare` sees it.
    public var converter: ConverterInfo?
    /// Images fetched for a previous `prepare` that asked for them: URL → (media type, base64).
    public var fetched: [String: (mediaType: String, base64: String)]?
    /// The answer to the credential request a previous `prepare` asked for (`token_request`).
    public var tokenResponse: TokenResponse?

    public init(
        endpoint: String, method: String, path: String, query: String, customHost: String?, apiKey: String?,
        model: String?, settings: [(String, String)], body: [UInt8]? = nil, converter: ConverterInfo? = nil
    ) {
        self.converter = converter
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.query = query
        self.customHost = customHost
        self.apiKey = apiKey
        self.model = model
        self.settings = settings
        self.body = body
    }
}

/// The upstream request a provider's `prepare` returned.
public struct PreparedRequest: Sendable, Equatable {
    public var url: String
    /// Overrides the client's method when set.
    public var method: String?
    public var headers: [Header]
    /// Replacement body; nil means the client's bytes pass through untouched.
    public var body: [UInt8]?
    /// False when the script asked for the answer to pass through untranslated (`translate = false`).
    public var translate: Bool = true
    /// Whether `body` is a table the host encoded as JSON (rather than a string the script built).
    public var bodyFromTable = false

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }
}

/// A call the host makes on a provider's behalf before its request (`{ token_request = { url,
/// method, headers, body } }`): exchanging a signed assertion or client credentials for an access
/// token. Scripts do no I/O; the host does this one, bounded, and runs `prepare` again with the
/// answer in `ctx.token_response`.
public struct TokenRequest: Sendable, Equatable {
    public var url: String
    public var method: String
    public var headers: [PreparedRequest.Header]
    public var body: [UInt8]?
}

/// The answer to a ``TokenRequest``: its status and body bytes.
public struct TokenResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// What a provider's `prepare(ctx)` asked for.
public enum PrepareOutcome: Sendable, Equatable {
    /// Make this credential request first; `prepare` then runs again with `ctx.token_response =
    /// { status = ..., text = ..., body = <decoded JSON or nil> }`.
    case token(TokenRequest)
    /// Send this request upstream.
    case send(PreparedRequest)
    /// Fetch these image URLs first (`{ fetch = { url, ... } }`); `prepare` then runs again with
    /// `ctx.fetched[url] = { media_type = ..., data = <base64> }`.
    case fetch([String])
    /// Serve this request through a converter to another endpoint the provider serves
    /// (`{ via = "chat/completions" }`), e.g. `/v1/messages` for a model that has no native Messages
    /// API on a provider where other models have one.
    case via(String)
}

/// How a provider's `error(ctx, res)` classified an upstream error answer. Every field is
/// optional: what the script leaves out, the host decides from the status and the body.
public struct UpstreamErrorVerdict: Sendable, Equatable {
    /// Whether trying again (or another target) may succeed.
    public var retryable: Bool?
    /// The error's message, type and code for the client's error shape.
    public var message: String?
    public var type: String?
    public var code: String?

    public init(retryable: Bool? = nil, message: String? = nil, type: String? = nil, code: String? = nil) {
        self.retryable = retryable
        self.message = message
        self.type = type
        self.code = code
    }
}
