import LuaRuntime
public import Logging
public import NIOCore
public import NIOHTTP1
import FoundationEssentials

/// The OpenAI-style endpoints the gateway knows, plus passthrough for any other `/v1/*` path.
public enum Endpoint: String, Sendable {
    case chatCompletions = "chat/completions"
    case completions = "completions"
    case embeddings = "embeddings"
    case models = "models"
    /// Anthropic's Messages API: native for providers that list it, translated for the others.
    case messages = "messages"
    case passthrough = "passthrough"
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
    public var virtualKeys = VirtualKeys()
    /// Memory for the response cache (configs with `cache`); 0 turns caching off.
    public var cacheMaxBytes = 64 * 1024 * 1024

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
public struct Gateway: Sendable {
    public let scripts: ScriptHost
    public let upstream: UpstreamClient
    public let settings: GatewaySettings
    /// Named routing configs and the default config (`--configs`), when configured.
    public let configs: ConfigStore?
    /// Consecutive failures per routed target, shared by all requests.
    let cooldown: CooldownTracker
    /// Metrics and the request log.
    public let observer: RequestObserver
    /// Gateway keys and virtual keys, replaceable while serving (starts from `settings`).
    public let keys: AccessKeys
    /// Answers stored for configs with `cache`; nil when `cacheMaxBytes` is 0.
    public let responseCache: ResponseCache?
    /// Where client-chosen custom host names point, checked and pinned.
    let customHosts = CustomHostResolver()
    /// Inline configs already parsed, by their text.
    let inlineConfigs = InlineConfigCache()
    /// Evictions already counted in the metrics.
    let cacheEvictionsPublished = PublishedCount()
    let logger: Logger

    public init(scripts: ScriptHost, upstream: UpstreamClient, settings: GatewaySettings, configs: ConfigStore? = nil,
                observer: RequestObserver = RequestObserver(), logger: Logger) {
        self.scripts = scripts
        self.upstream = upstream
        self.settings = settings
        self.configs = configs
        self.observer = observer
        self.keys = AccessKeys(.init(gatewayKeys: settings.gatewayKeys, virtualKeys: settings.virtualKeys))
        self.responseCache = settings.cacheMaxBytes > 0 ? ResponseCache(maxBytes: settings.cacheMaxBytes) : nil
        self.cooldown = CooldownTracker(settings: settings.cooldown, logger: logger, metrics: observer.metrics)
        self.logger = logger
    }

    /// Handles a request: through its routing config when it has one, else to its one provider.
    /// Errors are thrown as ``GatewayError`` with the trace id already decided.
    public func handle(_ request: IncomingRequest, options: RequestOptions) async throws(GatewayError) -> GatewayResponse {
        var options = options
        let keys = self.keys.current
        if !keys.gatewayKeys.isEmpty {
            try authorize(&options, keys: keys.gatewayKeys)
        }
        if let name = options.virtualKey {
            try keys.virtualKeys.apply(name, to: &options)
        }
        let generation = scripts.current
        if request.endpoint == .passthrough, !generation.scriptedRoutes.isEmpty,
           let info = generation.scriptedRoutes["\(request.method.rawValue) /v1\(request.path)"] {
            return try await runScripted(info, generation: generation, request: request, options: options)
        }
        guard generation.hasRequestMiddleware(for: request.endpoint.rawValue) else {
            return try await route(request, options: options)
        }
        // Middleware first: it may rewrite the body and headers (and so the provider or config),
        // deny, or answer; its on_response / on_chunk / on_log hooks see the answer.
        let started = ContinuousClock.now
        var request = request
        let decision: MiddlewareDecision
        let session: MiddlewareSession?
        do {
            (decision, session) = try generation.runRequestHooks(MiddlewareRequest(
                endpoint: request.endpoint.rawValue, method: request.method.rawValue, path: request.path,
                headers: request.headers.map { ($0.name.asciiLowercased(), $0.value) },
                body: request.body.map { Array($0.readableBytesView) }))
        } catch {
            logger.error("middleware failed", metadata: ["error": "\(error.message)"])
            throw .script(error)
        }
        switch decision {
        case .deny(let status, let message, let type, let code):
            throw GatewayError(status: status, type: type ?? "guardrail_error", message: message, code: code ?? "request_denied")
        case .respond(let status, let body):
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            return GatewayResponse(status: status, headers: headers, body: .buffer(ByteBuffer(bytes: body)))
        case .proceed(let headers, let body):
            request.headers = HTTPHeaders(headers)
            request.body = body.map { ByteBuffer(bytes: $0) }
            options = try scriptOptions(request.headers, traceID: options.traceID, record: options.record)
        }
        var response = try await route(request, options: options)
        if let provider = options.provider, !response.headers.contains(name: "x-portkey-provider") {
            response.headers.add(name: "x-portkey-provider", value: provider)  // middleware may have changed it
        }
        guard let session else { return response }
        let logger = self.logger
        let provider = options.provider
        let endpoint = request.endpoint.rawValue
        let status = response.status
        @Sendable func log(_ body: [UInt8]?, stream: Bool) {
            guard session.hasOnLog else { return }
            let milliseconds = (ContinuousClock.now - started).milliseconds
            if let error = session.onLog(.init(status: status, latencyMilliseconds: milliseconds, provider: provider,
                                               endpoint: endpoint, stream: stream, body: body)) {
                logger.error("middleware on_log failed", metadata: ["error": "\(error.message)"])
                observer.metrics.scriptFailed(kind: "on_log")
            }
        }
        switch response.body {
        case .buffer(let body):
            var bytes = Array(body.readableBytesView)
            if session.hasOnResponse {
                do {
                    if let rewritten = try session.onResponse(
                        status: response.status, headers: response.headers.map { ($0.name, $0.value) }, body: bytes) {
                        bytes = rewritten
                        response.body = .buffer(ByteBuffer(bytes: rewritten))
                    }
                } catch {
                    logger.error("middleware failed", metadata: ["error": "\(error.message)"])
                    throw .script(error)
                }
            }
            log(bytes, stream: false)
        case .stream(let stream):
            if session.hasOnChunk || session.hasOnLog {
                response.body = .stream(MiddlewareEventStream(upstream: stream, session: session) { _ in log(nil, stream: true) })
            }
        }
        return response
    }

    /// Checks the gateway key in constant time. A key presented as `Authorization: Bearer` is the
    /// gateway's, so it is not forwarded as the provider key (that then comes from a config).
    func authorize(_ options: inout RequestOptions, keys: [String]) throws(GatewayError) {
        func matches(_ presented: String) -> Bool {
            // Every key is compared, so the time does not tell which one came close.
            keys.reduce(false) { found, key in constantTimeEquals(presented, key) || found }
        }
        if let key = options.gatewayKey {
            if matches(key) { return }
        } else if let bearer = options.apiKey, matches(bearer) {
            options.apiKey = nil
            return
        }
        throw GatewayError(status: 401, type: "authentication_error",
                           message: "this gateway needs a gateway key: send it as x-portkey-api-key (or as Authorization: Bearer when provider keys come from a config)",
                           param: "x-portkey-api-key", code: "invalid_gateway_key")
    }

    /// Through the request's config (inline or named), the default config, or its one provider.
    func route(_ request: IncomingRequest, options: RequestOptions) async throws(GatewayError) -> GatewayResponse {
        if let text = options.config {
            return try await handleRouted(request, options: options, config: try routeConfig(text))
        }
        if options.provider == nil, let store = configs, let name = store.defaultName, let config = store.config(named: name) {
            return try await handleRouted(request, options: options, config: config)
        }
        return try await handleSingle(request, options: options)
    }

    /// One provider, no routing.
    func handleSingle(_ request: IncomingRequest, options: RequestOptions) async throws(GatewayError) -> GatewayResponse {
        let generation = scripts.current
        guard let providerID = options.provider else { throw .missingProvider() }
        options.record?.update { $0.provider = providerID }
        guard let provider = generation.providers[providerID] else {
            throw .unknownProvider(providerID, known: generation.providerIDs)
        }
        try CredentialScope.check(options, provider: providerID, hostSettings: provider.hostSettings)
        // The provider's endpoint table says how it serves this endpoint; one it does not list is
        // served through a converter to one it does, or refused.
        let endpointKey = request.endpoint == .passthrough ? "*" : request.endpoint.rawValue
        var mode = provider.mode(for: endpointKey)
        var converter: ConverterInfo?
        if mode == nil {
            guard request.endpoint != .passthrough,
                  let found = generation.converter(from: request.endpoint.rawValue, for: provider) else {
                throw .unsupportedEndpoint(provider: providerID, path: "/v1" + request.path, supported: provider.servedEndpoints)
            }
            converter = found
            mode = .translate
        }
        let scan = try validateBody(request)
        if let model = scan?.model, let problem = WireSyntax.targetProblem(model, what: "the model name") {
            // Some providers put the model in the upstream URL: a line break there would split the request.
            throw GatewayError(status: 400, type: "invalid_request_error", message: "invalid model: \(problem)",
                               param: "model", code: "invalid_model")
        }

        var context = PrepareContext(
            endpoint: request.endpoint.rawValue, method: request.method.rawValue, path: request.path,
            query: request.query, customHost: options.customHost, apiKey: options.apiKey, model: scan?.model,
            settings: options.settings,
            body: (provider.decodesBody && mode != .passthrough) || converter != nil ? request.body.map { Array($0.readableBytesView) } : nil,
            converter: converter)
        var plan: PreparedRequest
        var session: ProviderSession?
        if mode == .passthrough {
            plan = try passthrough(generation, providerID, context)
        } else {
            var outcome: PrepareOutcome
            (outcome, session) = try begin(generation, providerID, context)
            if case .via(let target) = outcome {
                // The provider serves this request only through a converter (e.g. /v1/messages for
                // a model without a native Messages API on a provider where other models have one).
                guard let found = generation.converter(from: request.endpoint.rawValue, to: target),
                      provider.mode(for: target) != nil else {
                    throw GatewayError(status: 500, type: "script_error",
                                       message: "\(provider.file) asked to serve /v1\(request.path) via \(target), but no converter from \(request.endpoint.rawValue) to \(target) exists for it",
                                       code: "script_error")
                }
                context.converter = found
                converter = found
                mode = .translate
                if context.body == nil { context.body = request.body.map { Array($0.readableBytesView) } }
                (outcome, session) = try begin(generation, providerID, context)
            }
            if case .fetch(let urls) = outcome {
                // The provider needs image bytes inline: fetch them (public hosts only, bounded), then
                // let it prepare again with ctx.fetched.
                context.fetched = try await fetchImages(urls)
                (outcome, session) = try begin(generation, providerID, context)
            }
            switch outcome {
            case .send(let prepared): plan = prepared
            case .fetch:
                throw GatewayError(status: 500, type: "script_error", message: "provider '\(providerID)' asked to fetch images twice",
                                   code: "script_error")
            case .via(let target):
                throw GatewayError(status: 500, type: "script_error",
                                   message: "\(provider.file) asked for via = \"\(target)\" twice", code: "script_error")
            }
        }
        // A native endpoint's answer is the client's dialect already; the script may also ask for
        // an answer's bytes as they are.
        if mode == .native || !plan.translate { session = nil }

        guard var url = UpstreamURL(plan.url) else {
            throw GatewayError(status: 502, type: "upstream_error",
                               message: "provider '\(providerID)' built an invalid upstream URL (\(Self.origin(of: plan.url)))",
                               code: "invalid_upstream_url")
        }
        if let customHost = options.customHost, CustomHostResolver.needsLookup(url.host),
           !settings.hostPolicy.allowedHosts.contains(url.host.lowercased()),
           let chosen = UpstreamURL(customHost), chosen.host.lowercased() == url.host.lowercased() {
            // A client-chosen name: check where it points, and connect there.
            url.connectAddress = try await customHosts.vet(host: url.host, port: url.port)
        }
        if let customHost = options.customHost, options.customHostSource != .virtualKey,
           !settings.hostPolicy.allowedHosts.contains(url.host.lowercased()),
           let chosen = UpstreamURL(customHost), chosen.host.lowercased() == url.host.lowercased() {
            url.addressPolicy = .clientChosen  // every address connected to is checked too
        }
        let method = plan.method.map { HTTPMethod(rawValue: $0) } ?? request.method
        var body = request.body
        if let replacement = plan.body { body = ByteBuffer(bytes: replacement) }
        let outbound = UpstreamRequest(
            method: method, url: url,
            headers: upstreamHeaders(request: request, options: options, plan: plan, provider: provider,
                                     relayed: request.endpoint == .passthrough || mode == .passthrough),
            body: body)
        if let problem = outbound.wireProblem {
            throw GatewayError(status: 500, type: "script_error",
                               message: "\(provider.file) built an upstream request that cannot be sent: \(problem)", code: "script_error")
        }

        let deadline = options.timeoutMilliseconds.map { NIODeadline.now() + .milliseconds(Int64($0)) }
        let response: UpstreamResponse
        let sent = ContinuousClock.now
        options.record?.update { fields in
            fields.model = scan?.model ?? fields.model
            fields.attempts += 1
        }
        do {
            response = try await upstream.execute(outbound, deadline: deadline, maxBodyBytes: settings.maxResponseBodyBytes)
        } catch {
            throw mapUpstreamError(error, provider: providerID, url: url, options: options)
        }
        let waited = ContinuousClock.now - sent
        options.record?.update { $0.upstreamLatency = waited }
        observer.metrics.upstreamResponded(provider: providerID, after: waited)

        var headers = responseHeaders(response.head.headers)
        let status = response.head.status
        if let problem = WireSyntax.statusProblem(status) {
            throw GatewayError.upstreamBroken(provider: providerID, reason: problem)
        }
        switch response {
        case .stream(_, let stream):
            guard let session, session.translatesStreams else {
                // Relayed as it is: a stream the upstream ends without its terminal event is an error.
                if let terminal = StreamTerminal.of(request.endpoint),
                   response.head.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") == true {
                    return GatewayResponse(status: status, headers: headers,
                                           body: .stream(TerminalCheckedStream(upstream: stream, terminal: terminal, provider: providerID)))
                }
                return GatewayResponse(status: status, headers: headers, body: .stream(stream))
            }
            let framing: TranslatedEventStream.Framing =
                response.head.headers.first(name: "content-type")?.lowercased().hasPrefix("application/vnd.amazon.eventstream") == true
                ? .awsEventStream : .serverSentEvents
            headers.replaceOrAdd(name: "content-type", value: "text/event-stream")
            return GatewayResponse(status: status, headers: headers,
                                   body: .stream(TranslatedEventStream(upstream: stream, session: session, framing: framing)))
        case .complete(_, var bytes):
            try Self.checkUpstreamJSON(method: method, status: status, headers: response.head.headers, body: bytes, provider: providerID)
            if (200..<300).contains(status), let session, session.translatesResponses {
                let translated: ProviderSession.Response
                do {
                    translated = try session.response(
                        status: status, headers: response.head.headers.map { ($0.name.asciiLowercased(), $0.value) },
                        body: Array(bytes.readableBytesView))
                } catch {
                    logger.warning("provider script failed translating a response",
                                   metadata: ["provider": "\(providerID)", "error": "\(error.message)"])
                    throw .script(error)
                }
                headers.replaceOrAdd(name: "content-type", value: "application/json")
                return GatewayResponse(status: translated.status ?? status, headers: headers,
                                       body: .buffer(ByteBuffer(bytes: translated.body)))
            }
            guard !(200..<300).contains(status) else {
                return GatewayResponse(status: status, headers: headers, body: .buffer(bytes))
            }
            // An error answer: the provider's error(ctx, res) says whether it is worth another try
            // and what it means; what it leaves out is read from the status and the body.
            let verdict = try classifyError(generation, providerID, session: session, context: context, status: status,
                                            headers: response.head.headers, body: bytes)
            let retryable = verdict?.retryable ?? UpstreamErrorBody.retryableStatuses.contains(status)
            let dialect = ClientDialect(request.endpoint)
            // A provider that speaks the client's dialect natively answers errors in it: relayed as
            // they are. Anything else is rewritten into the client's error shape.
            if session != nil || !dialect.isErrorBody(bytes) {
                var (error, _) = UpstreamErrorBody.parse(status: status, body: bytes, provider: providerID)
                if let message = verdict?.message { error.message = "provider '\(providerID)' returned HTTP \(status): \(message)" }
                if let type = verdict?.type { error.type = type }
                if let code = verdict?.code { error.code = code }
                bytes = ByteBuffer(bytes: dialect.errorBody(error))
                headers.replaceOrAdd(name: "content-type", value: "application/json")
            }
            return GatewayResponse(status: status, headers: headers, body: .buffer(bytes), retryable: retryable)
        }
    }

    private func begin(_ generation: ScriptGeneration, _ providerID: String, _ context: PrepareContext)
        throws(GatewayError) -> (PrepareOutcome, ProviderSession?)
    {
        try scriptCall(providerID) { () throws(LuaError) in try generation.begin(provider: providerID, context: context) }
    }

    private func passthrough(_ generation: ScriptGeneration, _ providerID: String, _ context: PrepareContext)
        throws(GatewayError) -> PreparedRequest
    {
        try scriptCall(providerID) { () throws(LuaError) in try generation.passthrough(provider: providerID, context: context) }
    }

    private func classifyError(_ generation: ScriptGeneration, _ providerID: String, session: ProviderSession?,
                               context: PrepareContext, status: Int, headers: HTTPHeaders, body: ByteBuffer)
        throws(GatewayError) -> UpstreamErrorVerdict?
    {
        try scriptCall(providerID) { () throws(LuaError) in
            try generation.classifyError(
                provider: providerID, session: session, context: context, status: status,
                headers: headers.map { ($0.name.asciiLowercased(), $0.value) }, body: Array(body.readableBytesView))
        }
    }

    /// Runs a provider script call; a script failure is logged (unless the script raised it on
    /// purpose, e.g. a 400 for the client) and becomes the client's error.
    private func scriptCall<T>(_ providerID: String, _ body: () throws(LuaError) -> T) throws(GatewayError) -> T {
        do {
            return try body()
        } catch {
            if case .raised = error.kind {} else {
                logger.error("provider script failed", metadata: ["provider": "\(providerID)", "error": "\(error.message)"])
            }
            throw .script(error)
        }
    }

    /// Fetches every distinct URL concurrently; the first failure fails the request.
    private func fetchImages(_ urls: [String]) async throws(GatewayError) -> [String: (mediaType: String, base64: String)] {
        var distinct: [String] = []
        for url in urls where !distinct.contains(url) { distinct.append(url) }
        guard distinct.count <= settings.imageFetch.maxImages else {
            throw GatewayError(status: 400, type: "invalid_request_error",
                               message: "the request links \(distinct.count) images; at most \(settings.imageFetch.maxImages) are fetched",
                               param: "messages", code: "too_many_images")
        }
        let fetcher = ImageFetcher(settings: settings.imageFetch, upstream: upstream)
        let results = await withTaskGroup(of: (String, Result<ImageFetcher.Image, GatewayError>).self) { group in
            for url in distinct {
                group.addTask {
                    do throws(GatewayError) {
                        return (url, .success(try await fetcher.fetch(url)))
                    } catch {
                        return (url, .failure(error))
                    }
                }
            }
            var results: [String: Result<ImageFetcher.Image, GatewayError>] = [:]
            for await (url, result) in group { results[url] = result }
            return results
        }
        var fetched: [String: (mediaType: String, base64: String)] = [:]
        for url in distinct {
            switch results[url]! {
            case .success(let image): fetched[url] = (image.mediaType, image.base64)
            case .failure(let error): throw error
            }
        }
        return fetched
    }

    /// Rejects malformed JSON before anything goes upstream, without building a tree.
    func validateBody(_ request: IncomingRequest) throws(GatewayError) -> JSONScan? {
        let needsJSON: Bool
        switch request.endpoint {
        case .chatCompletions, .completions, .embeddings, .messages:
            needsJSON = true
        case .models:
            return nil
        case .passthrough:
            guard let body = request.body, body.readableBytes > 0,
                  request.headers.first(name: "content-type")?.lowercased().contains("json") == true else { return nil }
            needsJSON = false
        }
        guard let body = request.body, body.readableBytes > 0 else {
            if needsJSON {
                throw GatewayError(status: 400, type: "invalid_request_error",
                                   message: "the request body is empty; expected a JSON object", code: "invalid_json")
            }
            return nil
        }
        let result = body.withUnsafeReadableBytes { bytes in Result { () throws(JSONScan.Failure) in try JSONScan.scan(bytes) } }
        switch result {
        case .success(let scan):
            if needsJSON && !scan.isObject { throw .bodyNotObject() }
            return scan
        case .failure(let failure):
            throw .invalidJSON(failure)
        }
    }

    /// Headers that never travel between hops.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "content-length", "host", "proxy-authorization", "proxy-authenticate",
    ]

    /// The headers of the upstream request: on passthrough (`relayed`) the client's own, minus its
    /// key; otherwise only the content type, `accept`, and the client headers the provider lists
    /// (`client_headers`) or the request forwards (`x-portkey-forward-headers`); then the script's.
    func upstreamHeaders(request: IncomingRequest, options: RequestOptions, plan: PreparedRequest, provider: ProviderInfo,
                         relayed: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        func copy(_ name: String) {
            guard !name.hasPrefix("x-portkey-"), !Self.hopByHop.contains(name),
                  !plan.headers.contains(where: { $0.name == name }) else { return }
            for value in request.headers[name] { headers.add(name: name, value: value) }
        }
        if relayed {
            // Passthrough keeps the client's headers, minus its key (the provider's auth replaces it).
            for (rawName, _) in request.headers {
                let name = rawName.asciiLowercased()
                if name == "authorization" || name == "x-api-key" || name == "accept-encoding" || name == "cookie" { continue }
                if headers.contains(name: name) { continue }
                copy(name)
            }
        } else {
            copy("content-type")
            copy("accept")
            for name in provider.clientHeaders { copy(name) }
        }
        for name in options.forwardHeaders where !headers.contains(name: name) { copy(name) }
        if request.body != nil && !headers.contains(name: "content-type") && plan.body == nil {
            headers.add(name: "content-type", value: "application/json")
        }
        if plan.body != nil {
            headers.replaceOrAdd(name: "content-type", value: "application/json")
        }
        for header in plan.headers { headers.replaceOrAdd(name: header.name, value: header.value) }
        return headers
    }

    func responseHeaders(_ upstream: HTTPHeaders) -> HTTPHeaders {
        var result = HTTPHeaders()
        result.reserveCapacity(upstream.count + 4)
        for (name, value) in upstream {
            let lower = name.asciiLowercased()
            if Self.hopByHop.contains(lower) || lower == "date" || lower == "server" || lower == "set-cookie"
                || lower.hasPrefix("x-portkey-") {
                continue
            }
            result.add(name: lower, value: value)
        }
        return result
    }

    func mapUpstreamError(_ error: any Error, provider: String, url: UpstreamURL, options: RequestOptions) -> GatewayError {
        let seconds = upstream.readTimeout.nanoseconds / 1_000_000_000
        guard let error = error as? UpstreamError else {
            return .upstreamUnreachable(provider: provider, host: url.origin, reason: String("\(error)".prefix(300)))
        }
        switch error.kind {
        case .deadline:
            return .requestTimeout(milliseconds: options.timeoutMilliseconds ?? 0)
        case .readTimeout:
            return .upstreamTimeout(provider: provider, seconds: seconds)
        case .connectTimeout:
            return .upstreamUnreachable(provider: provider, host: url.origin, reason: "connection timed out")
        case .connect, .tls:
            return .upstreamUnreachable(provider: provider, host: url.origin, reason: error.detail)
        case .forbiddenAddress:
            return .invalidHeader("x-portkey-custom-host", "\(url.origin) connects to \(error.detail) (an operator can allow the host with --allow-host)")
        case .closed:
            return .upstreamBroken(provider: provider, reason: "the connection closed before a complete response")
        case .tooLarge:
            return .upstreamBroken(provider: provider, reason: error.detail)
        case .cancelled:
            return GatewayError(status: 499, type: "request_cancelled",
                                message: "the client closed the connection before the response", code: "client_closed_request")
        case .invalidURL:
            return GatewayError(status: 502, type: "upstream_error",
                                message: "provider '\(provider)' built an invalid upstream URL (\(url.origin))",
                                code: "invalid_upstream_url")
        }
    }

    /// `scheme://host[:port]` of a URL, so messages never echo paths or query keys.
    static func origin(of url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return "(invalid URL)" }
        let rest = url[schemeEnd.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let host = rest[..<end].split(separator: "@").last.map(String.init) ?? ""
        return String(url[..<schemeEnd.upperBound]) + host
    }
}
