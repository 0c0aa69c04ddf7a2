import LuaRuntime
public import Logging
public import NIOCore
public import NIOHTTP1
import FoundationEssentials

/// The OpenAI-style endpoints the gateway knows, plus passthrough for any other `/v1/*` path.
public enum Endpoint: String, Sendable, CaseIterable {
    case chatCompletions = "chat/completions"
    case completions = "completions"
    case embeddings = "embeddings"
    case models = "models"
    /// The Messages dialect (Anthropic's API): native for providers whose endpoint table lists it,
    /// through a converter for the others.
    case messages = "messages"
    /// The Messages dialect's token count (`POST /v1/messages/count_tokens`): served by providers
    /// whose table lists it (passed through, or translated to the provider's own count), refused
    /// by the others — never sent as a generation.
    case countTokens = "messages/count_tokens"
    /// OpenAI's Responses API (`POST /v1/responses`): native for providers whose endpoint table
    /// lists it, through a converter for the others. Its stored-response paths
    /// (`/v1/responses/{id}`, …) stay passthrough.
    case responses = "responses"
    /// OpenAI's image endpoints: generations (JSON), edits and variations (multipart uploads).
    case imageGenerations = "images/generations"
    case imageEdits = "images/edits"
    case imageVariations = "images/variations"
    /// OpenAI's audio endpoints: speech (JSON in, audio bytes out, relayed as they arrive),
    /// transcriptions and translations (multipart uploads).
    case speech = "audio/speech"
    case transcriptions = "audio/transcriptions"
    case translations = "audio/translations"
    /// Rerank in Cohere's shape (`{model, query, documents, top_n}`), translated where the
    /// provider's differs.
    case rerank = "rerank"
    case moderations = "moderations"
    /// `/v1/files` and everything below it (`/v1/files/{id}`, `/v1/files/{id}/content`).
    case files = "files"
    /// `/v1/batches` and everything below it (`/v1/batches/{id}`, `/v1/batches/{id}/cancel`).
    case batches = "batches"
    /// `GET /v1/realtime` upgraded to a WebSocket, relayed to the provider's Realtime API.
    case realtime = "realtime"
    case passthrough = "passthrough"

    /// Endpoints that are a tree of paths (`/v1/files/{id}/content`), each method decided by the
    /// provider.
    public static let trees: [Endpoint] = [.files, .batches]

    /// The tree endpoint a `/v1/...` path belongs to (`/v1/files/file-1/content` → files), if any.
    public static func tree(containing path: Substring) -> Endpoint? {
        guard path.hasPrefix("/v1/") else { return nil }
        let rest = path.dropFirst(4)
        for tree in trees where rest.hasPrefix(tree.rawValue) {
            let after = rest.dropFirst(tree.rawValue.utf8.count)
            if after.isEmpty || after.hasPrefix("/") { return tree }
        }
        return nil
    }

    /// The client's method and path, as README.md's endpoint table lists them.
    public var clientPath: String {
        switch self {
        case .models: "GET /v1/models"
        case .files: "/v1/files, /v1/files/{id}, /v1/files/{id}/content"
        case .batches: "/v1/batches, /v1/batches/{id}, /v1/batches/{id}/cancel"
        case .realtime: "GET /v1/realtime (WebSocket)"
        case .passthrough: "any other /v1 path"
        default: "POST /v1/" + rawValue
        }
    }

    /// What the request body must be: JSON for the generation-like endpoints, a multipart form
    /// for uploads, anything (or nothing) for the rest.
    public enum BodyKind: Sendable { case json, multipart, any }

    public var bodyKind: BodyKind {
        switch self {
        case .chatCompletions, .completions, .embeddings, .messages, .countTokens, .responses,
             .imageGenerations, .speech, .rerank, .moderations:
            .json
        case .imageEdits, .imageVariations, .transcriptions, .translations:
            .multipart
        case .models, .files, .batches, .realtime, .passthrough:
            .any
        }
    }
}

/// One client request, as the HTTP layer hands it over.
public struct IncomingRequest: Sendable {
    public var endpoint: Endpoint
    public var method: HTTPMethod
    /// Path after `/v1`, e.g. `/chat/completions`.
    public var path: String
    /// Raw query without `?`.
    public var query: String
    public var headers: HTTPHeaders
    public var body: ByteBuffer?

    public init(endpoint: Endpoint, method: HTTPMethod, path: String, query: String, headers: HTTPHeaders,
                body: ByteBuffer?) {
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// What goes back to the client.
public struct GatewayResponse: Sendable {
    public enum Body: Sendable {
        case buffer(ByteBuffer)
        /// An upstream event stream, forwarded chunk by chunk as it arrives (translated by the
        /// provider script when it translates streams).
        case stream(any AsyncSequence<ByteBuffer, any Error> & Sendable)
    }

    public var status: Int
    /// Response headers for the client (hop-by-hop headers already removed), lowercase names.
    public var headers: HTTPHeaders
    public var body: Body
    /// For an upstream error: whether trying again (or another target) may succeed. Set from the
    /// status and the provider's own error codes, before the body is rewritten for the client.
    public var retryable: Bool = false
    /// A denial by a before-request hook: never retried (the request would be the same), though a
    /// fallback listing 446 moves on, as in Portkey.
    public var deniedBeforeRequest = false
}

/// Tunables of the proxy path.
public struct GatewaySettings: Sendable {
    public var maxRequestBodyBytes: Int
    public var maxResponseBodyBytes: Int
    public var hostPolicy: CustomHostPolicy
    public var imageFetch: ImageFetchSettings
    public var retryTuning = RetryTuning()
    public var cooldown = CooldownSettings()
    /// When not empty, every request must present one of these (`x-portkey-api-key`, or
    /// `Authorization: Bearer` when provider keys come from the server side).
    public var gatewayKeys: [String] = []
    /// The limits of gateway keys given as objects (``GatewayKeyList``), by the key itself.
    public var limitedGatewayKeys: [String: LimitedKey] = [:]
    /// Limits per value of a metadata field (`metadata_limits`).
    public var metadataLimits: MetadataLimits?
    public var virtualKeys = VirtualKeys()
    /// Memory for the response cache (configs with `cache`); 0 turns caching off.
    public var cacheMaxBytes = 64 * 1024 * 1024
    /// The largest WebSocket frame a `/v1/realtime` session takes from either side (audio events are large base64).
    public var realtimeMaxFrameBytes = 16 * 1024 * 1024

    public init(maxRequestBodyBytes: Int = 32 * 1024 * 1024, maxResponseBodyBytes: Int = 64 * 1024 * 1024,
                hostPolicy: CustomHostPolicy = CustomHostPolicy(), imageFetch: ImageFetchSettings = ImageFetchSettings()) {
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.maxResponseBodyBytes = maxResponseBodyBytes
        self.hostPolicy = hostPolicy
        self.imageFetch = imageFetch
    }
}

/// Routes one request to its provider: reads the Portkey headers, validates the body without
/// decoding it, lets the provider script build the upstream request, sends it and maps failures to
/// OpenAI-shaped errors.
public final class Gateway: Sendable {
    public let scripts: ScriptHost
    public let upstream: any UpstreamTransport
    public let settings: GatewaySettings
    /// Named routing configs and the default config (`--configs`), when configured.
    public let configs: ConfigStore?
    /// Consecutive failures per routed target, shared by all requests.
    let cooldown: CooldownTracker
    /// Metrics and the request log.
    public let observer: RequestObserver
    /// Gateway keys and virtual keys, replaceable while serving (starts from `settings`).
    public let keys: AccessKeys
    /// The per-minute windows of rate-limited keys (in this process unless a shared store is given).
    public let limits: any LimitStore
    /// Answers stored for configs with `cache`; nil when `cacheMaxBytes` is 0.
    public let responseCache: (any ResponseCacheBackend)?
    /// Where client-chosen custom host names point, checked and pinned.
    let customHosts = CustomHostResolver()
    /// Inline configs already parsed, by their text.
    let inlineConfigs = InlineConfigCache()
    /// Evictions already counted in the metrics.
    let cacheEvictionsPublished = PublishedCount()
    let logger: Logger

    public init(scripts: ScriptHost, upstream: any UpstreamTransport, settings: GatewaySettings, configs: ConfigStore? = nil,
                observer: RequestObserver = RequestObserver(), limits: any LimitStore = LocalLimitStore(),
                sharedCache: (any ResponseCacheBackend)? = nil, sharedCooldowns: (any CooldownShare)? = nil, logger: Logger) {
        self.limits = limits
        self.scripts = scripts
        self.upstream = upstream
        self.settings = settings
        self.configs = configs
        self.observer = observer
        self.keys = AccessKeys(.init(gatewayKeys: settings.gatewayKeys, virtualKeys: settings.virtualKeys,
                                     limitedGatewayKeys: settings.limitedGatewayKeys, metadataLimits: settings.metadataLimits))
        self.responseCache = settings.cacheMaxBytes > 0 ? sharedCache ?? ResponseCache(maxBytes: settings.cacheMaxBytes) : nil
        self.cooldown = CooldownTracker(settings: settings.cooldown, logger: logger, metrics: observer.metrics, share: sharedCooldowns)
        self.logger = logger
    }

    /// The stages every request passes, in order. Routing answers (every routed attempt runs
    /// ``attemptStages``); a guardrail, middleware or scripted route may answer earlier.
    static let requestStages = StageChain([
        AccessStage(),          // Access/AccessStage.swift: gateway keys, virtual keys
        ScriptedRouteStage(),   // Scripts/ScriptedRouteStage.swift: handlers for their own paths
        MiddlewareStage(),      // Scripts/MiddlewareStage.swift: on_request, on_response, on_chunk, on_log
        RoutingStage(),         // Routing/RoutingStage.swift: config (fallback, loadbalance, retry…) or one provider
    ])

    /// The stages of one routed attempt (one target of a config, or the request's one provider).
    static let attemptStages = StageChain([
        HookStage(),            // Guardrails/HookStage.swift: the target's hooks before and after its call
        CacheStage(),           // Cache/CacheStage.swift: a stored answer, or store this one
        ProviderCallStage(),    // Provider/ProviderCallStage.swift: prepare, send, relay or translate the answer
    ])

    /// Handles a request through ``requestStages``. Errors are thrown as ``GatewayError`` with the
    /// trace id already decided.
    public nonisolated(nonsending) func handle(_ request: IncomingRequest, options: RequestOptions) async throws(GatewayError) -> GatewayResponse {
        let context = RequestContext(gateway: self, options: options, generation: scripts.current,
                                     dialect: ClientDialect(request.endpoint))
        var response = try await Self.requestStages.run(request, context: context)
        Self.decorate(&response.headers, options: options)
        return response
    }

    /// The headers every answer carries: the trace id, the cache verdict (`DISABLED` when no cache
    /// was asked for), and the provider (set by the routed attempt that answered; else the one the
    /// request named, e.g. for an answer a script gave).
    static func decorate(_ headers: inout HTTPHeaders, options: RequestOptions) {
        if let provider = options.provider, !headers.contains(name: "x-portkey-provider") {
            headers.add(name: "x-portkey-provider", value: provider)
        }
        headers.replaceOrAdd(name: "x-portkey-trace-id", value: options.traceID)
        if !headers.contains(name: "x-portkey-cache-status") { headers.add(name: "x-portkey-cache-status", value: "DISABLED") }
    }
}
