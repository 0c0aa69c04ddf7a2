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
    private let method: String
    private let route: String
    private let recordBodies: Bool
    /// False when the sampler left this trace out: its spans still carry the context upstream, but
    /// nothing is described (no attribute is built, no answer scanned).
    private let recording: Bool
    private let state = Mutex(State())

    /// An upstream attempt's span and what it will be described by. Attributes are set once, as a
    /// span ends, and by the non-generic setter: through `updateAttributes` and the generic
    /// subscript each attribute cost a dictionary copy and a generic-metadata lookup (the traced
    /// lane of bench/instructions: 474k instructions per request before, see the commit).
    struct Attempt {
        let span: any Span
        var attributes: SpanAttributes
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
        self.method = method
        self.route = route
        operation = Self.operation(route: route)
        var parent = InstrumentationContext.topLevel
        // A client's traceparent/tracestate continue its trace.
        if headers.contains(name: "traceparent") {
            tracer.tracer.extract(headers, into: &parent, using: HeadersExtractor())
        }
        server = tracer.tracer.startSpan(method + " " + route, context: parent, ofKind: .server)
        recording = server.isRecording
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
    func attemptStarted(provider: String, model: String?, target configTarget: String?, method: String, url: UpstreamURL,
                        headers: inout HTTPHeaders) {
        let name = model.map { (operation ?? method) + " " + $0 } ?? (operation ?? method)
        let span = tracer.startSpan(name, context: server.context, ofKind: .client)
        if headers.contains(name: "traceparent") { headers.remove(name: "traceparent") }
        if headers.contains(name: "tracestate") { headers.remove(name: "tracestate") }
        tracer.inject(span.context, into: &headers, using: HeadersInjector())
        // A trace the sampler left out gets no description, only its context upstream.
        var attributes = SpanAttributes()
        if recording {
            attributes.reserveCapacity(14)
            if let operation { attributes.set("gen_ai.operation.name", value: .string(operation)) }
            attributes.set("gen_ai.provider.name", value: .string(provider))
            if let model { attributes.set("gen_ai.request.model", value: .string(model)) }
            attributes.set("http.request.method", value: .string(method))
            attributes.set("server.address", value: .string(url.host))
            attributes.set("server.port", value: .integer(url.port))
            // Scheme, host and path: a query can hold a key (Gemini's ?key=), so it is left out.
            let target = url.target.utf8
            let path = target.firstIndex(of: UInt8(ascii: "?")).map { Substring(target[..<$0]) } ?? Substring(url.target)
            attributes.set("url.full", value: .string(url.origin + path))
            if let target = configTarget { attributes.set("switchboard.target", value: .string(target)) }
        }
        let previous = state.withLock { state in
            state.attempts += 1
            if recording { attributes.set("switchboard.attempt", value: .integer(state.attempts)) }
            defer { state.attempt = Attempt(span: span, attributes: attributes) }
            return state.attempt
        }
        // An earlier attempt still open (its answer was not used): it ends where it answered.
        if let previous { end(previous, at: previous.answered ?? DefaultTracerClock.now) }
    }

    private func end(_ attempt: Attempt, at instant: DefaultTracerClock.Instant) {
        attempt.span.attributes = attempt.attributes
        attempt.span.end(at: instant)
    }

    /// The attempt's response head (or whole body, `complete`) arrived. An error status ends it.
    func attemptAnswered(status: Int, complete: Bool) {
        let now = DefaultTracerClock.now
        let ended: Attempt? = state.withLock { state in
            guard var attempt = state.attempt else { return nil }
            attempt.attributes.set("http.response.status_code", value: .integer(status))
            if status >= 400 {
                state.attempt = nil
                attempt.attributes.set("error.type", value: .string(String(status)))
                return attempt
            }
            if complete { attempt.answered = now }
            state.attempt = attempt
            return nil
        }
        if let ended {
            ended.span.setStatus(SpanStatus(code: .error, message: "HTTP \(status)"))
            end(ended, at: now)
        }
    }

    /// The attempt failed without an answer (refused, timed out, cut off).
    func attemptFailed(_ error: GatewayError) {
        guard var attempt = state.withLock({ state in defer { state.attempt = nil }; return state.attempt }) else { return }
        attempt.attributes.set("error.type", value: .string(error.code?.rawValue ?? String(error.status)))
        attempt.span.setStatus(SpanStatus(code: .error, message: error.message))
        end(attempt, at: DefaultTracerClock.now)
    }

    /// Something that happened during the request, as an event on its server span (a guardrail
    /// verdict, a middleware or scripted-route call, the cache's verdict).
    public func event(_ name: String, _ attributes: SpanAttributes = [:]) {
        server.addEvent(SpanEvent(name: name, attributes: attributes))
    }

    /// Reads the response model and finish reasons from (part of) the client's answer.
    func scan(_ bytes: UnsafeRawBufferPointer) {
        guard recording else { return }
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
        guard recording else {
            open?.span.end()
            server.end()
            return
        }
        func describe(_ attributes: inout SpanAttributes) {
            if let model { attributes.set("gen_ai.response.model", value: .string(model)) }
            if let tokens = fields.tokensIn { attributes.set("gen_ai.usage.input_tokens", value: .integer(tokens)) }
            if let tokens = fields.tokensOut { attributes.set("gen_ai.usage.output_tokens", value: .integer(tokens)) }
            if !reasons.isEmpty { attributes.set("gen_ai.response.finish_reasons", value: .stringArray(reasons)) }
        }
        if var open {
            describe(&open.attributes)
            end(open, at: open.answered ?? DefaultTracerClock.now)
        }
        var attributes = SpanAttributes()
        attributes.reserveCapacity(24)
        describe(&attributes)
        attributes.set("http.request.method", value: .string(method))
        attributes.set("http.route", value: .string(route))
        attributes.set("url.scheme", value: .string("http"))
        attributes.set("http.response.status_code", value: .integer(status))
        if let operation { attributes.set("gen_ai.operation.name", value: .string(operation)) }
        if let provider = fields.providerConvention ?? fields.provider {
            attributes.set("gen_ai.provider.name", value: .string(provider))
        }
        if let model = fields.model { attributes.set("gen_ai.request.model", value: .string(model)) }
        attributes.set("switchboard.trace_id", value: .string(clientTraceID))
        attributes.set("switchboard.attempts", value: .integer(fields.attempts))
        if fields.retries > 0 { attributes.set("switchboard.retries", value: .integer(fields.retries)) }
        if let target = fields.target { attributes.set("switchboard.target", value: .string(target)) }
        if let cache = fields.cache { attributes.set("switchboard.cache", value: .string(cache)) }
        if let cost = fields.costUSD { attributes.set("switchboard.cost_usd", value: .double(cost)) }
        if fields.stream { attributes.set("switchboard.stream", value: .bool(true)) }
        if let firstChunk = fields.firstChunk {
            attributes.set("switchboard.time_to_first_chunk_ms", value: .double(Double(firstChunk.nanoseconds) / 1e6))
        }
        if recordBodies {
            if let body = fields.requestBody { attributes.set("switchboard.request.body", value: .string(Self.text(body))) }
            if let body = fields.responseBody { attributes.set("switchboard.response.body", value: .string(Self.text(body))) }
        }
        if let code = fields.errorCode {
            attributes.set("error.type", value: .string(code))
        } else if status >= 500 {
            attributes.set("error.type", value: .string(String(status)))
        }
        server.attributes = attributes
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

extension SpanAttribute {
    /// An integer attribute (Int is 64 bits wide on every platform the gateway builds for).
    static func integer(_ value: Int) -> SpanAttribute { .int64(Int64(truncatingIfNeeded: value)) }
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
