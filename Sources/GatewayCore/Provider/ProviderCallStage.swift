import Logging
import FoundationEssentials
import LuaRuntime
import NIOCore
import NIOHTTP1

/// The provider call: the last stage of every attempt (see ``Gateway/callProvider(_:context:)``).
struct ProviderCallStage: RequestStage {
    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        try await context.gateway.callProvider(request, context: context)
    }
}

/// What planning a provider call decided: the request to send, the session that translates the
/// answer (nil when it is relayed), how the endpoint is served. A class: it is handed from
/// planning to sending to the answer (and captured by the direct exchange's callbacks), and
/// copying this many strings and tables retained each of them per copy.
final class ProviderPlan: Sendable {
    let providerID: String
    let provider: ProviderInfo
    let request: PreparedRequest
    let session: ProviderSession?
    let mode: EndpointMode
    /// What `prepare` saw (the `error` hook of a provider without a session sees it too).
    let context: PrepareContext
    let model: String?

    init(providerID: String, provider: ProviderInfo, request: PreparedRequest, session: ProviderSession?, mode: EndpointMode,
         context: PrepareContext, model: String?) {
        self.providerID = providerID
        self.provider = provider
        self.request = request
        self.session = session
        self.mode = mode
        self.context = context
        self.model = model
    }
}

extension Gateway {
    /// One call to the request's provider: ``planCall(_:context:)`` (how its endpoint table serves
    /// the endpoint, and what `prepare` asks for), ``send(_:plan:options:)`` (the upstream
    /// exchange) and ``answer(_:to:plan:context:)`` (relayed, translated, or — for an error —
    /// classified by the provider's `error(ctx, res)` and put in the client's error shape).
    nonisolated(nonsending) func callProvider(_ request: IncomingRequest, context requestContext: RequestContext) async throws(GatewayError) -> GatewayResponse {
        if request.endpoint == .realtime { return try await callRealtime(request, context: requestContext) }
        let plan = try await planCall(request, context: requestContext)
        let response = try await send(request, plan: plan, options: requestContext.options)
        return try answer(response, to: request, plan: plan, context: requestContext)
    }

    /// How the provider serves the endpoint (natively, translated, through a converter, passed
    /// through, or refused), then `prepare` — with the images it asks for fetched, or the converter
    /// it asks for — or `auth` for a passthrough.
    nonisolated(nonsending) func planCall(_ request: IncomingRequest, context requestContext: RequestContext) async throws(GatewayError) -> ProviderPlan {
        var fetched: [String: (mediaType: String, base64: String)]?
        var token: TokenResponse?
        while true {
            switch try planNow(request, context: requestContext, fetched: fetched, token: token) {
            case .ready(let plan):
                return plan
            case .fetch(let urls):
                // The provider needs image bytes inline: fetch them (public hosts only, bounded),
                // then let it prepare again with ctx.fetched. (planNow refuses a second ask.)
                fetched = try await fetchImages(urls)
            case .token(let tokenRequest):
                // The provider exchanges a credential for a token first (planNow's script call
                // refuses a second ask); prepare runs again with ctx.token_response.
                token = try await requestToken(tokenRequest, provider: requestContext.options.provider ?? "")
            }
        }
    }

    /// What planning a call came to without waiting for anything: the plan, or the images
    /// `prepare` asked for (fetched, then planned again with them in `fetched`).
    enum PlanStep {
        case ready(ProviderPlan)
        case fetch([String])
        case token(TokenRequest)
    }

    /// ``planCall(_:context:)`` up to the point where it would wait: all of it, unless `prepare`
    /// asks for images.
    func planNow(_ request: IncomingRequest, context requestContext: RequestContext,
                 fetched: [String: (mediaType: String, base64: String)]?, token: TokenResponse? = nil) throws(GatewayError) -> PlanStep {
        let options = requestContext.options
        let generation = requestContext.generation
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
        let (scan, model) = try validateBody(request)
        if let model, let problem = WireSyntax.targetProblem(model, what: "the model name") {
            // Some providers put the model in the upstream URL: a line break there would split the request.
            throw GatewayError(status: 400, type: .invalidRequest, message: "invalid model: \(problem)",
                               param: "model", code: .invalidModel)
        }

        var context = PrepareContext(
            endpoint: request.endpoint.rawValue, method: request.method.rawValue, path: request.path,
            query: request.query, customHost: options.customHost, apiKey: options.apiKey, model: model,
            settings: options.settings,
            body: (provider.decodesBody && mode != .passthrough) || converter != nil ? request.body.map { Array($0.readableBytesView) } : nil,
            converter: converter)
        // A body the gateway did not find to be JSON (an upload, CSV, an empty GET) reaches a
        // decoding script as bytes, not as a decode error.
        context.bodyIsJSON = scan != nil || converter != nil
        context.fetched = fetched
        context.tokenResponse = token
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
                    throw GatewayError(status: 500, type: .script,
                                       message: "\(provider.file) asked to serve /v1\(request.path) via \(target), but no converter from \(request.endpoint.rawValue) to \(target) exists for it",
                                       code: .scriptError)
                }
                context.converter = found
                converter = found
                mode = .translate
                if context.body == nil { context.body = request.body.map { Array($0.readableBytesView) } }
                (outcome, session) = try begin(generation, providerID, context)
            }
            switch outcome {
            case .send(let prepared): plan = prepared
            case .fetch(let urls):
                guard fetched == nil else {
                    throw GatewayError(status: 500, type: .script, message: "provider '\(providerID)' asked to fetch images twice",
                                       code: .scriptError)
                }
                return .fetch(urls)
            case .token(let tokenRequest):
                return .token(tokenRequest)
            case .via(let target):
                throw GatewayError(status: 500, type: .script,
                                   message: "\(provider.file) asked for via = \"\(target)\" twice", code: .scriptError)
            }
        }
        // A native endpoint's answer is the client's dialect already; the script may also ask for
        // an answer's bytes as they are.
        if mode == .native || !plan.translate { session = nil }

        return .ready(ProviderPlan(providerID: providerID, provider: provider, request: plan, session: session, mode: mode ?? .native,
                                   context: context, model: model))
    }

    /// The upstream exchange: the URL checked (and, for a client-chosen host, where it points), the
    /// headers, the deadline.
    nonisolated(nonsending) func send(_ request: IncomingRequest, plan: ProviderPlan, options: RequestOptions) async throws(GatewayError) -> UpstreamResponse {
        var (url, needsLookup) = try upstreamURL(plan: plan, options: options)
        if needsLookup {
            // A client-chosen name: check where it points, and connect there.
            url.connectAddress = try await customHosts.vet(host: url.host, port: url.port)
        }
        var outbound = try upstreamRequest(request, plan: plan, options: options, url: url)
        let sent = sending(plan, options: options, outbound: &outbound)
        let response: UpstreamResponse
        do {
            response = try await upstream.execute(outbound, deadline: Self.deadline(options), maxBodyBytes: settings.maxResponseBodyBytes)
        } catch {
            throw mapUpstreamError(error, provider: plan.providerID, url: url, options: options)
        }
        responded(plan, options: options, sent: sent, response: response)
        return response
    }

    /// The plan's upstream URL, parsed and with its address policy; `needsLookup`: a client-chosen
    /// host name that must be looked up (and checked) before connecting.
    func upstreamURL(plan: ProviderPlan, options: RequestOptions) throws(GatewayError) -> (UpstreamURL, needsLookup: Bool) {
        guard var url = UpstreamURL(plan.request.url) ?? (plan.context.endpoint == "realtime" ? UpstreamURL(webSocket: plan.request.url) : nil) else {
            throw GatewayError(status: 502, type: .upstream,
                               message: "provider '\(plan.providerID)' built an invalid upstream URL (\(Self.origin(of: plan.request.url)))",
                               code: .invalidUpstreamUrl)
        }
        guard let customHost = options.customHost, !settings.hostPolicy.allowedHosts.contains(url.host.lowercased()),
              let chosen = UpstreamURL(customHost), chosen.host.lowercased() == url.host.lowercased() else {
            return (url, false)
        }
        if options.customHostSource != .virtualKey {
            url.addressPolicy = .clientChosen  // every address connected to is checked too
        }
        return (url, CustomHostResolver.needsLookup(url.host))
    }

    /// The bytes to send: the method, the headers and the body the plan asks for.
    func upstreamRequest(_ request: IncomingRequest, plan: ProviderPlan, options: RequestOptions, url: UpstreamURL)
        throws(GatewayError) -> UpstreamRequest
    {
        let prepared = plan.request
        let method = prepared.method.map { HTTPMethod(rawValue: $0) } ?? request.method
        var body = request.body
        if let replacement = prepared.body { body = ByteBuffer(bytes: replacement) }
        var outbound = UpstreamRequest(
            method: method, url: url,
            headers: upstreamHeaders(request: request, options: options, plan: prepared, provider: plan.provider,
                                     relayed: request.endpoint == .passthrough || plan.mode == .passthrough),
            body: body)
        outbound.relaysBinary = plan.session?.translatesResponses != true
        if let problem = outbound.wireProblem {
            throw GatewayError(status: 500, type: .script,
                               message: "\(plan.provider.file) built an upstream request that cannot be sent: \(problem)", code: .scriptError)
        }
        return outbound
    }

    /// When the exchange must be done: the request's timeout from now, if it has one.
    static func deadline(_ options: RequestOptions) -> NIODeadline? {
        let deadline = options.timeoutMilliseconds.map { NIODeadline.now() + .milliseconds(Int64($0)) }
        return deadline
    }

    /// Counts the attempt in the request's record as it goes out, and opens its span (whose
    /// `traceparent` the request carries); returns when it went.
    func sending(_ plan: ProviderPlan, options: RequestOptions, outbound: inout UpstreamRequest) -> ContinuousClock.Instant {
        guard let record = options.record else { return ContinuousClock.now }
        let convention = plan.provider.conventionName
        record.update { fields in
            fields.model = plan.model ?? fields.model
            fields.attempts += 1
            if let convention { fields.providerConvention = convention }
        }
        record.trace?.attemptStarted(provider: convention ?? plan.providerID, model: plan.model, target: options.targetPath,
                                     method: outbound.method.rawValue, url: outbound.url, headers: &outbound.headers)
        return ContinuousClock.now
    }

    /// Records how long the upstream took to answer.
    func responded(_ plan: ProviderPlan, options: RequestOptions, sent: ContinuousClock.Instant, response: UpstreamResponse) {
        let waited = ContinuousClock.now - sent
        options.record?.update { $0.upstreamLatency = waited }
        observer.metrics.upstreamResponded(provider: plan.providerID, after: waited)
        if let trace = options.record?.trace {
            let complete = if case .complete = response { true } else { false }
            trace.attemptAnswered(status: response.head.status, complete: complete)
        }
    }

    /// The client's answer: relayed (a stream checked for its terminal event), translated by the
    /// provider's (or converter's) `response`/`stream`, or an error classified and reshaped.
    func answer(_ response: UpstreamResponse, to request: IncomingRequest, plan: ProviderPlan, context requestContext: RequestContext)
        throws(GatewayError) -> GatewayResponse
    {
        let providerID = plan.providerID
        let session = plan.session
        let generation = requestContext.generation
        let context = plan.context
        let method = plan.request.method.map { HTTPMethod(rawValue: $0) } ?? request.method
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
            // A provider that speaks the client's dialect natively answers errors in it: relayed as
            // they are. So does one that passes the endpoint through (its client speaks the
            // provider's API, e.g. Anthropic's /v1/files). Anything else is rewritten into the
            // client's error shape.
            let dialect = plan.mode == .passthrough ? ClientDialect.provider : requestContext.dialect
            var (error, shape) = UpstreamErrorBody.parse(status: status, body: bytes, provider: providerID)
            if session != nil || !dialect.accepts(errorShape: shape) {
                if let message = verdict?.message { error.message = "provider '\(providerID)' returned HTTP \(status): \(message)" }
                if let type = verdict?.type { error.type = ErrorType(rawValue: type) }
                if let code = verdict?.code { error.code = ErrorCode(rawValue: code) }
                bytes = ByteBuffer(bytes: dialect.errorBody(error))
                headers.replaceOrAdd(name: "content-type", value: "application/json")
            }
            return GatewayResponse(status: status, headers: headers, body: .buffer(bytes), retryable: retryable)
        }
    }

    fileprivate func begin(_ generation: ScriptGeneration, _ providerID: String, _ context: PrepareContext)
        throws(GatewayError) -> (PrepareOutcome, ProviderSession?)
    {
        try scriptCall(providerID) { () throws(LuaError) in try generation.begin(provider: providerID, context: context) }
    }

    fileprivate func passthrough(_ generation: ScriptGeneration, _ providerID: String, _ context: PrepareContext)
        throws(GatewayError) -> PreparedRequest
    {
        try scriptCall(providerID) { () throws(LuaError) in try generation.passthrough(provider: providerID, context: context) }
    }

    fileprivate func classifyError(_ generation: ScriptGeneration, _ providerID: String, session: ProviderSession?,
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
    fileprivate func scriptCall<T>(_ providerID: String, _ body: () throws(LuaError) -> T) throws(GatewayError) -> T {
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
    fileprivate func fetchImages(_ urls: [String]) async throws(GatewayError) -> [String: (mediaType: String, base64: String)] {
        var distinct: [String] = []
        for url in urls where !distinct.contains(url) { distinct.append(url) }
        guard distinct.count <= settings.imageFetch.maxImages else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "the request links \(distinct.count) images; at most \(settings.imageFetch.maxImages) are fetched",
                               param: "messages", code: .tooManyImages)
        }
        let fetcher = ImageFetcher(settings: settings.imageFetch, upstream: upstream)
        // Each child answers with its URL's index and a plain Result (no typed-throws closure in
        // the group: that shape lost results in release builds — `results[url]!` trapped, the
        // gateway died with SIGILL on every fetched image; debug builds were fine).
        let results = await withTaskGroup(of: (Int, Result<ImageFetcher.Image, GatewayError>).self) { group in
            for (index, url) in distinct.enumerated() {
                group.addTask { (index, await fetcher.result(url)) }
            }
            var results = [Result<ImageFetcher.Image, GatewayError>?](repeating: nil, count: distinct.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
        var fetched: [String: (mediaType: String, base64: String)] = [:]
        for (index, url) in distinct.enumerated() {
            switch results[index] {
            case .success(let image): fetched[url] = (image.mediaType, image.base64)
            case .failure(let error): throw error
            case nil:
                throw GatewayError(status: 500, type: .server, message: "the image at \(url) was not fetched (gateway bug)",
                                   code: .imageFetchFailed)
            }
        }
        return fetched
    }
}
