public import NIOHTTP1
public import Tracing
import CLuaShim
import NIOCore
import Synchronization

/// The tracer requests report to: OpenTelemetry through swift-otel, made by the executable when an
/// OTLP endpoint is configured. Without one there is no `GatewayTracer`, and a request pays one nil
/// check (``RequestObserver/makeRecord(method:route:traceID:body:headers:)``).
public struct GatewayTracer: Sendable {
    let tracer: any Tracer
    /// Prompt and completion text go on spans only when the operator logs bodies too.
    let recordBodies: Bool

    public init(_ tracer: any Tracer, recordBodies: Bool = false) {
        self.tracer = tracer
        self.recordBodies = recordBodies
    }
}

/// One request's spans: the server span, open from its arrival to the end of its response (a
/// stream's last byte), and a client span per upstream attempt under it — retries and fallbacks are
/// siblings — named and described by the OpenTelemetry GenAI semantic conventions.
///
/// Attempts of one request run one after another, so one open attempt is kept. An attempt that
/// fails ends when it fails; one that answers stays open until the request finishes, ending when
/// its body arrived (a complete answer) or with the stream, and gets the answer's model, tokens and
/// finish reasons then.
public final class RequestTrace: Sendable {
    let server: any Span
    private let tracer: any Tracer
    let operation: String?
    private let recordBodies: Bool
    private let state = Mutex(State())

    struct Attempt {
        let span: any Span
        /// When a complete answer's body arrived: the attempt's end.
        var answered: DefaultTracerClock.Instant?
    }

    struct State {
        var attempt: Attempt?
        var attempts = 0
        /// Read from the answer the client gets (only while tracing: ``scan(_:)``).
        var responseModel: String?
        var finishReasons: [String] = []
    }

    init(tracer: GatewayTracer, method: String, route: String, headers: HTTPHeaders) {
        self.tracer = tracer.tracer
        self.recordBodies = tracer.recordBodies
        operation = Self.operation(route: route)
        var parent = InstrumentationContext.topLevel
        // A client's traceparent/tracestate continue its trace.
        tracer.tracer.extract(headers, into: &parent, using: HeadersExtractor())
        server = tracer.tracer.startSpan("\(method) \(route)", context: parent, ofKind: .server)
        server.updateAttributes { attributes in
            attributes["http.request.method"] = method
            attributes["http.route"] = route
            attributes["url.scheme"] = "http"
            if let operation { attributes["gen_ai.operation.name"] = operation }
        }
    }

    /// The GenAI operation a route performs (`gen_ai.operation.name`); nil for routes that are not
    /// one (model lists, token counts, passthrough).
    static func operation(route: String) -> String? {
        switch route {
        case "/v1/chat/completions", "/v1/messages", "/v1/responses": "chat"
        case "/v1/completions": "text_completion"
        case "/v1/embeddings": "embeddings"
        default: nil
        }
    }

    /// W3C trace id of the request's trace (32 hex digits), as the log line and the console show it:
    /// read back from the `traceparent` the tracer writes (`00-<trace id>-<span id>-<flags>`), as the
    /// span context's own type belongs to the tracer's library.
    public var traceID: String? {
        var carrier = HTTPHeaders()
        tracer.inject(server.context, into: &carrier, using: HeadersInjector())
        guard let parent = carrier.first(name: "traceparent") else { return nil }
        let parts = parent.split(separator: "-")
        return parts.count == 4 ? String(parts[1]) : nil
    }

    /// Opens the client span of an upstream attempt and returns the headers that carry it upstream
    /// (`traceparent`, `tracestate`), replacing any the client sent.
    func attemptStarted(provider: String, model: String?, target: String?, method: String, url: UpstreamURL,
                        headers: inout HTTPHeaders) {
        let name = [operation ?? method, model].compactMap { $0 }.joined(separator: " ")
        let span = tracer.startSpan(name, context: server.context, ofKind: .client)
        let number = state.withLock { state in
            state.attempts += 1
            return state.attempts
        }
        span.updateAttributes { attributes in
            if let operation { attributes["gen_ai.operation.name"] = operation }
            attributes["gen_ai.provider.name"] = provider
            if let model { attributes["gen_ai.request.model"] = model }
            attributes["http.request.method"] = method
            attributes["server.address"] = url.host
            attributes["server.port"] = url.port
            // Scheme, host and path: a query can hold a key (Gemini's ?key=), so it is left out.
            attributes["url.full"] = url.origin + (url.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "")
            attributes["switchboard.attempt"] = number
            if let target { attributes["switchboard.target"] = target }
        }
        headers.remove(name: "traceparent")
        headers.remove(name: "tracestate")
        tracer.inject(span.context, into: &headers, using: HeadersInjector())
        let previous = state.withLock { state in
            defer { state.attempt = Attempt(span: span) }
            return state.attempt
        }
        // An earlier attempt still open (its answer was not used): it ends where it answered.
        if let previous { previous.span.end(at: previous.answered ?? DefaultTracerClock.now) }
    }

    /// The attempt's response head (or whole body, `complete`) arrived. An error status ends it.
    func attemptAnswered(status: Int, complete: Bool) {
        let now = DefaultTracerClock.now
        let ended: (any Span)? = state.withLock { state in
            guard var attempt = state.attempt else { return nil }
            attempt.span.attributes["http.response.status_code"] = status
            if status >= 400 {
                state.attempt = nil
                return attempt.span
            }
            if complete { attempt.answered = now }
            state.attempt = attempt
            return nil
        }
        if let ended {
            ended.attributes["error.type"] = String(status)
            ended.setStatus(SpanStatus(code: .error, message: "HTTP \(status)"))
            ended.end(at: now)
        }
    }

    /// The attempt failed without an answer (refused, timed out, cut off).
    func attemptFailed(_ error: GatewayError) {
        guard let attempt = state.withLock({ state in defer { state.attempt = nil }; return state.attempt }) else { return }
        attempt.span.attributes["error.type"] = error.code?.rawValue ?? String(error.status)
        attempt.span.setStatus(SpanStatus(code: .error, message: error.message))
        attempt.span.end()
    }

    /// Something that happened during the request, as an event on its server span (a guardrail
    /// verdict, a middleware or scripted-route call, the cache's verdict).
    public func event(_ name: String, _ attributes: SpanAttributes = [:]) {
        server.addEvent(SpanEvent(name: name, attributes: attributes))
    }

    /// Reads the response model and finish reasons from (part of) the client's answer.
    func scan(_ bytes: UnsafeRawBufferPointer) {
        let model = state.withLock { $0.responseModel } == nil ? Self.stringValues(of: "model", in: bytes, limit: 1).first : nil
        var reasons = Self.stringValues(of: "finish_reason", in: bytes, limit: 8)
        reasons += Self.stringValues(of: "stop_reason", in: bytes, limit: 8)
        guard model != nil || !reasons.isEmpty else { return }
        state.withLock { state in
            if state.responseModel == nil, let model { state.responseModel = model }
            for reason in reasons where !state.finishReasons.contains(reason) { state.finishReasons.append(reason) }
        }
    }

    /// Ends the request's spans with what it did: the open attempt gets the answer's model and
    /// tokens, the server span the same plus the route's outcome.
    func finish(_ fields: RequestRecord.Fields, status: Int, clientTraceID: String) {
        let (open, model, reasons) = state.withLock { state in
            defer { state.attempt = nil }
            return (state.attempt, state.responseModel, state.finishReasons)
        }
        func describe(_ attributes: inout SpanAttributes) {
            if let model { attributes["gen_ai.response.model"] = model }
            if let tokens = fields.tokensIn { attributes["gen_ai.usage.input_tokens"] = tokens }
            if let tokens = fields.tokensOut { attributes["gen_ai.usage.output_tokens"] = tokens }
            if !reasons.isEmpty { attributes["gen_ai.response.finish_reasons"] = reasons }
        }
        if let open {
            open.span.updateAttributes(describe)
            open.span.end(at: open.answered ?? DefaultTracerClock.now)
        }
        server.updateAttributes { attributes in
            describe(&attributes)
            attributes["http.response.status_code"] = status
            if let provider = fields.provider { attributes["gen_ai.provider.name"] = provider }
            if let model = fields.model { attributes["gen_ai.request.model"] = model }
            attributes["switchboard.trace_id"] = clientTraceID
            attributes["switchboard.attempts"] = fields.attempts
            if fields.retries > 0 { attributes["switchboard.retries"] = fields.retries }
            if let target = fields.target { attributes["switchboard.target"] = target }
            if let cache = fields.cache { attributes["switchboard.cache"] = cache }
            if let cost = fields.costUSD { attributes["switchboard.cost_usd"] = cost }
            if fields.stream { attributes["switchboard.stream"] = true }
            if let firstChunk = fields.firstChunk {
                attributes["switchboard.time_to_first_chunk_ms"] = Double(firstChunk.nanoseconds) / 1e6
            }
            if recordBodies {
                if let body = fields.requestBody { attributes["switchboard.request.body"] = Self.text(body) }
                if let body = fields.responseBody { attributes["switchboard.response.body"] = Self.text(body) }
            }
            if let code = fields.errorCode { attributes["error.type"] = code } else if status >= 500 { attributes["error.type"] = String(status) }
        }
        if fields.errorCode != nil || status >= 500 {
            server.setStatus(SpanStatus(code: .error, message: fields.errorCode))
        }
        server.end()
    }

    private static func text(_ buffer: NIOCore.ByteBuffer) -> String {
        String(decoding: buffer.readableBytesView.prefix(RequestLogLine.maxBodyBytes), as: UTF8.self)
    }

    /// The string values of `"key"` in a JSON text, found by a byte search (no parse: this runs on
    /// every answer and stream chunk of a traced request). Escaped strings are skipped.
    static func stringValues(of key: StaticString, in bytes: UnsafeRawBufferPointer, limit: Int) -> [String] {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return [] }
        let needle = "\"\(key)\""
        var found: [String] = []
        var index = 0
        let count = bytes.count
        needle.utf8CString.withUnsafeBufferPointer { pattern in
            let length = pattern.count - 1
            while index < count, found.count < limit {
                guard let hit = sb_memmem(base + index, count - index, pattern.baseAddress, length) else { break }
                var position = UnsafeRawPointer(hit) - UnsafeRawPointer(base) + length
                index = position
                func skipSpace() { while position < count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 } }
                skipSpace()
                guard position < count, bytes[position] == UInt8(ascii: ":") else { continue }
                position += 1
                skipSpace()
                guard position < count, bytes[position] == UInt8(ascii: "\"") else { continue }
                let start = position + 1
                var end = start
                while end < count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), end - start <= 256 { end += 1 }
                guard end < count, bytes[end] == UInt8(ascii: "\""), end > start else { continue }
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                if !found.contains(value) { found.append(value) }
                index = end + 1
            }
        }
        return found
    }
}

/// Reads `traceparent` and `tracestate` from a request's headers.
struct HeadersExtractor: Extractor {
    func extract(key: String, from headers: HTTPHeaders) -> String? {
        headers.first(name: key)
    }
}

/// Writes them into an upstream request's headers.
struct HeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}
