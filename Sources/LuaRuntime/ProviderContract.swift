/// What a provider script declares about itself (read once when a generation loads).
public struct ProviderInfo: Sendable, Equatable {
    /// The provider id: the script's file name without `.lua`.
    public var id: String
    /// Human-readable name (`name` in the script), defaulting to the id.
    public var name: String
    /// Default base URL including the API version path; a custom host replaces exactly this.
    public var baseURL: String?
    /// Standard endpoints the provider serves ("chat/completions", "completions", "embeddings", "models").
    public var endpoints: Set<String>
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

    /// What a provider serves when its script does not say.
    public static let standardEndpoints = ["chat/completions", "completions", "embeddings", "models"]
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
    /// A client dialect to translate through (a `providers/lib` module, e.g. `anthropic_messages`):
    /// its `request(ctx, body)` turns the body into a chat-completions request before `prepare`.
    public var dialect: String?
    /// Images fetched for a previous `prepare` that asked for them: URL → (media type, base64).
    public var fetched: [String: (mediaType: String, base64: String)]?

    public init(
        endpoint: String, method: String, path: String, query: String, customHost: String?, apiKey: String?,
        model: String?, settings: [(String, String)], body: [UInt8]? = nil, dialect: String? = nil
    ) {
        self.dialect = dialect
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
    /// URLs the script needs fetched first (`{ fetch = { url, ... } }`); `prepare` then runs again
    /// with `ctx.fetched[url] = { media_type = ..., data = <base64> }`.
    public var fetch: [String] = []
    /// A client dialect the script asked the gateway to translate through instead
    /// (`{ dialect = "anthropic_messages" }`), e.g. `/v1/messages` to a model without a native
    /// Messages API on a provider that has one for other models.
    public var dialect: String?

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }
}
