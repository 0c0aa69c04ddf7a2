import NIOHTTP1

/// Fault-injection and shaping controls for one request.
///
/// Why: gateway tests need a way to make the upstream misbehave on demand. Controls come from
/// `x-mock-<name>` request headers or from a top-level `"mock": {…}` object in the JSON body;
/// the body wins because it travels through a gateway even when custom headers are stripped.
/// Names are case-insensitive and `-`/`_` are interchangeable (`x-mock-retry-after` ==
/// `"retry_after"`).
struct MockControls: Sendable {
    /// How an injected error body is shaped.
    enum ErrorFormat: Sendable {
        /// The endpoint's own error shape (OpenAI, Anthropic or Google).
        case dialect
        /// Plain text, not JSON.
        case text
        /// JSON without an `error` object: `{"detail":"…"}`.
        case other
    }

    /// Where to drop the connection.
    enum Reset: Sendable {
        /// Close without sending anything.
        case before
        /// Send the head and part of the body (a few events when streaming), then close.
        case mid
        /// Send the whole response, then close even on a keep-alive connection.
        case after
    }

    var status: Int?
    var errorFormat: ErrorFormat = .dialect
    var retryAfter: String?
    var latencyMs = 0
    var intervalMs = 0
    var chunks: Int?
    var reset: Reset?
    var malformed = false
    var echo = false
    var failFirst: Int?
    var key = ""
    var content: String?
    /// For streams: leave out the last N events and end the stream normally (a clean end without
    /// the terminal event: `[DONE]`, `message_stop`, Gemini's final chunk).
    var dropLast = 0
    /// Answer with a valid `chat.completion` JSON body of exactly this many bytes (the assistant's
    /// content is padded with `x`), to test how large upstream answers are buffered and refused.
    var bodyBytes: Int?
    /// With `bodyBytes`: send it chunked, without `content-length`, in pieces of 64 KiB.
    var bodyChunked = false
    /// Keep this request for `GET /mock/last-request` although no fixture answers it (the mock's
    /// own endpoints answer), so a test sees what reached the provider.
    var record = false

    /// Set when a control value could not be understood; answered with a 400.
    var invalid: String?

    static let headerPrefix = "x-mock-"

    /// Controls from `x-mock-*` headers. Cheap when there are none (the benchmark case).
    init(headers: HTTPHeaders) {
        for (name, value) in headers where name.hasASCIIPrefixIgnoringCase(Self.headerPrefix) {
            let control = String(name.dropFirst(Self.headerPrefix.count))
            if control.lowercased() == "request-count" { continue }
            apply(control, value)
        }
    }

    /// Overrides with the members of the body's `"mock"` object, if present.
    mutating func apply(body: JSONBody) {
        guard let field = body.field("mock") else { return }
        guard field.kind == .object, let object = try? JSONBody(body.raw(field)) else {
            invalid = "'mock' must be an object"
            return
        }
        for member in object.fields where member.kind != .null {
            apply(object.key(of: member), object.text(of: member))
        }
    }

    /// Applies one named control given as text.
    mutating func apply(_ rawName: String, _ value: String) {
        let name = String(rawName.lowercased().map { $0 == "-" ? "_" : $0 })
        let trimmed = value.trimmingWhitespace()
        switch name {
        case "status":
            status = integer(trimmed, name, in: 100...599)
        case "error_format":
            switch trimmed.lowercased() {
            case "text", "plain": errorFormat = .text
            case "other", "detail": errorFormat = .other
            case "json", "default", "dialect", "": errorFormat = .dialect
            default: invalid = "unknown error_format '\(trimmed)'"
            }
        case "retry_after":
            retryAfter = trimmed.isEmpty ? nil : trimmed
        case "latency_ms":
            latencyMs = integer(trimmed, name, in: 0...600_000) ?? 0
        case "interval_ms":
            intervalMs = integer(trimmed, name, in: 0...600_000) ?? 0
        case "chunks":
            chunks = integer(trimmed, name, in: 1...100_000)
        case "reset":
            switch trimmed.lowercased() {
            case "before": reset = .before
            case "mid", "middle": reset = .mid
            case "after": reset = .after
            case "", "none", "false": reset = nil
            default: invalid = "unknown reset '\(trimmed)'"
            }
        case "malformed":
            malformed = boolean(trimmed)
        case "echo":
            echo = boolean(trimmed)
        case "fail_first":
            failFirst = integer(trimmed, name, in: 0...1_000_000_000)
        case "key":
            key = value
        case "content":
            content = value
        case "drop_last":
            dropLast = integer(trimmed, name, in: 0...100_000) ?? 0
        case "body_bytes":
            bodyBytes = integer(trimmed, name, in: 256...(1 << 31))
        case "body_chunked":
            bodyChunked = boolean(trimmed)
        case "record":
            record = boolean(trimmed)
        default:
            break  // Unknown controls are ignored so newer tests can run against older mocks.
        }
    }

    private mutating func integer(_ text: String, _ name: String, in range: ClosedRange<Int>) -> Int? {
        let parsed = Int(text) ?? Double(text).flatMap { $0.isFinite && abs($0) < 1e12 ? Int($0) : nil }
        guard let parsed, range.contains(parsed) else {
            invalid = "mock control '\(name)' must be an integer in \(range), got '\(text)'"
            return nil
        }
        return parsed
    }

    private func boolean(_ text: String) -> Bool {
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        default: return false
        }
    }
}

extension String {
    /// Case-insensitive ASCII prefix test that does not allocate (runs for every header).
    func hasASCIIPrefixIgnoringCase(_ prefix: String) -> Bool {
        var mine = utf8.makeIterator()
        for expected in prefix.utf8 {
            guard let byte = mine.next(), byte | 0x20 == expected | 0x20 else { return false }
        }
        return utf8.count > prefix.utf8.count
    }

    /// Trims ASCII spaces and tabs without pulling in Foundation.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
