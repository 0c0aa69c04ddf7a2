public import NIOCore
import NIOHTTP1
import LuaRuntime

/// Checks that an upstream answer relayed without translation is what it claims to be: a 2xx JSON
/// body that parses, an event stream that ends with its dialect's terminal event. Without them a
/// client keeps a truncated answer as if it were whole.
///
/// Both are cheap: the JSON check is the same validating scan request bodies get (no tree is
/// built); the stream check keeps the last few hundred bytes of the stream and looks at its last
/// event once, when the upstream ends it.
extension Gateway {
    /// A 2xx answer with a JSON content type whose body does not parse: 502 `invalid_upstream_response`.
    /// A HEAD answer and a 204 have no body to check.
    static func checkUpstreamJSON(method: HTTPMethod = .POST, status: Int, headers: HTTPHeaders, body: ByteBuffer,
                                  provider: String) throws(GatewayError)
    {
        guard (200..<300).contains(status), status != 204, method != .HEAD, isJSONContentType(headers) else { return }
        let result = body.withUnsafeReadableBytes { bytes in
            Result { () throws(JSONScan.Failure) in _ = try JSONScan.scan(bytes) }
        }
        if case .failure(let failure) = result {
            let reason = body.readableBytes == 0 ? "the body is empty" : "\(failure.reason) at \(failure.position)"
            throw GatewayError(status: 502, type: .upstream,
                               message: "provider '\(provider)' answered \(status) with a JSON body that does not parse (\(reason)); it was probably cut short",
                               code: .invalidUpstreamResponse)
        }
    }

    /// `application/json`, or any `+json` type (`application/problem+json`).
    static func isJSONContentType(_ headers: HTTPHeaders) -> Bool {
        guard let value = headers.first(name: "content-type") else { return false }
        // A byte scan (this runs on every relayed answer): the media type before any `;`, without
        // the spaces around it, compared without regard to ASCII case.
        var utf8 = value.utf8[...]
        if let semicolon = utf8.firstIndex(of: UInt8(ascii: ";")) { utf8 = utf8[..<semicolon] }
        while let first = utf8.first, first == 32 || first == 9 { utf8.removeFirst() }
        while let last = utf8.last, last == 32 || last == 9 { utf8.removeLast() }
        func ends(with suffix: StaticString) -> Bool {
            guard utf8.count >= suffix.utf8CodeUnitCount else { return false }
            return suffix.withUTF8Buffer { expected in
                zip(utf8.suffix(expected.count), expected).allSatisfy { ($0 >= 65 && $0 <= 90 ? $0 + 32 : $0) == $1 }
            }
        }
        return (utf8.count == 16 && ends(with: "application/json")) || ends(with: "+json")
    }
}

/// The event that ends a complete stream in a client dialect the gateway serves. A stream relayed
/// as it is (passthrough) whose last event is not this one was cut short by the upstream.
///
/// The gateway's own client dialects are defined by its endpoints (``Endpoint``): OpenAI's chat and
/// completions streams end with `data: [DONE]`, Anthropic's Messages streams with the
/// `message_stop` event. Translated streams are checked by their converter (`stream(ctx, event)`
/// with `event.done`, see providers/README.md), which knows its upstream's dialect.
public struct StreamTerminal: Sendable, Equatable {
    /// The `event:` name the terminal event carries, if that is how it is known.
    public var event: String?
    /// The `data:` text of the terminal event, if that is how it is known.
    public var data: String?
    /// What the message says the stream lacked, e.g. `data: [DONE]`.
    public var label: String
    /// Other `event:` names that end a complete stream too (the Responses dialect has three).
    public var otherEvents: [String] = []
    /// Whether the terminal event can be longer than the kept tail, so the check also keeps the
    /// head of the latest event (Responses: `response.completed` carries the whole response).
    /// Off for the others, which pay nothing for it.
    public var longEvent = false

    public static let openAIDone = StreamTerminal(event: nil, data: "[DONE]", label: "data: [DONE]")
    public static let messageStop = StreamTerminal(event: "message_stop", data: nil, label: "the message_stop event")
    /// A Responses stream ends with `response.completed`, or `response.incomplete` (cut by a token
    /// limit, but the answer says so) or `response.failed` (the answer carries its error).
    public static let responseCompleted = StreamTerminal(event: "response.completed", data: nil,
                                                         label: "the response.completed event",
                                                         otherEvents: ["response.incomplete", "response.failed"],
                                                         longEvent: true)

    /// The terminal event of the stream a client of `endpoint` expects; nil where the gateway does
    /// not know the dialect (passthrough paths).
    public static func of(_ endpoint: Endpoint) -> StreamTerminal? {
        switch endpoint {
        case .chatCompletions, .completions: .openAIDone
        case .messages: .messageStop
        case .responses: .responseCompleted
        // OpenAI's streamed images, speech (stream_format: sse) and transcriptions (stream: true)
        // end with a `*.completed` / `*.done` event, named on its `event:` line or as the data's
        // leading `type`; the images' and the transcript's carry the whole result.
        case .imageGenerations: .imageGenerationCompleted
        case .imageEdits: .imageEditCompleted
        case .speech: .speechAudioDone
        case .transcriptions: .transcriptTextDone
        case .embeddings, .models, .countTokens, .passthrough, .imageVariations, .translations, .rerank, .moderations, .files,
             .batches, .realtime: nil
        }
    }

    /// Whether the last event of a stream, found in its last bytes, is this one.
    func endsStream(_ tail: [UInt8]) -> Bool {
        guard let last = SSETail.lastEvent(tail) else { return false }
        return ends(with: last)
    }

    public static let imageGenerationCompleted = StreamTerminal(event: "image_generation.completed", data: nil,
                                                                label: "the image_generation.completed event", longEvent: true)
    public static let imageEditCompleted = StreamTerminal(event: "image_edit.completed", data: nil,
                                                          label: "the image_edit.completed event", longEvent: true)
    public static let speechAudioDone = StreamTerminal(event: "speech.audio.done", data: nil, label: "the speech.audio.done event")
    public static let transcriptTextDone = StreamTerminal(event: "transcript.text.done", data: nil,
                                                          label: "the transcript.text.done event", longEvent: true)

    /// Whether a stream whose last event began with `head` (its first bytes) and ended with
    /// `tail` (its last bytes) is complete. An event longer than the tail (a Responses
    /// `response.completed` carries the whole response) is known by its head.
    func endsStream(head: [UInt8], tail: [UInt8]) -> Bool {
        // The event must have ended (a blank line after it): an event cut short is not dispatched.
        // A long terminal event (a whole image or transcript) is likely to be the one cut, after
        // its `event:` line already arrived; short ones are checked by their text as before.
        let ended = tail.suffix(2) == [10, 10] || tail.suffix(4) == [13, 10, 13, 10]
        if endsStream(tail) && (ended || !longEvent) { return true }
        guard ended else { return false }
        guard !head.isEmpty, let first = SSETail.lastEvent(head) else { return false }
        return ends(with: first)
    }

    private func ends(with last: (event: String?, data: String?)) -> Bool {
        if let event, last.event == event { return true }
        if let name = last.event, otherEvents.contains(name) { return true }
        // An error event the upstream sent ends the stream too: the client already has the error.
        if last.event == "error" { return true }
        if let text = last.data, text.hasPrefix("{\"error\"") || text.hasPrefix("{\"type\":\"error\"") { return true }
        if let data, last.data == data { return true }
        // Anthropic's data repeats the type: {"type":"message_stop"}; OpenAI's speech and
        // transcription events are known by it alone, wherever the encoder put the key. (An
        // unescaped `"type":"…"` cannot occur inside a JSON string, only as a member.)
        if let event, let text = last.data {
            let compact = text.filter { $0 != " " }
            if compact.hasPrefix("{\"type\":\"\(event)\"") || compact.contains("\"type\":\"\(event)\"") { return true }
        }
        return false
    }
}

/// The last server-sent event in the last bytes of a stream.
enum SSETail {
    /// The `event:` and first `data:` of the last complete event, or nil when there is none.
    static func lastEvent(_ tail: [UInt8]) -> (event: String?, data: String?)? {
        var end = tail.endIndex
        while end > tail.startIndex, [10, 13, 32, 9].contains(tail[end - 1]) { end -= 1 }
        guard end > tail.startIndex else { return nil }
        // The event starts after the last blank line (LF LF, or CR LF CR LF) before `end`.
        var start = tail.startIndex
        var index = end - 1
        while index > tail.startIndex {
            if tail[index] == 10 {
                var previous = index - 1
                if tail[previous] == 13, previous > tail.startIndex { previous -= 1 }
                if tail[previous] == 10 {
                    start = index + 1
                    break
                }
            }
            index -= 1
        }
        var event: String?
        var data: String?
        for rawLine in tail[start..<end].split(separator: 10, omittingEmptySubsequences: true) {
            var line = rawLine
            if line.last == 13 { line = line.dropLast() }
            let text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix("event:") {
                event = Self.value(text.dropFirst(6))
            } else if text.hasPrefix("data:"), data == nil {
                data = Self.value(text.dropFirst(5))
            }
        }
        return (event, data)
    }

    /// How many first bytes of an event ``noteEventStart(_:previous:head:)`` keeps: enough for
    /// its `event:` line and the start of its `data:`.
    static let headCapacity = 160

    /// Keeps in `head` the first bytes of the latest event that began in the stream so far, given
    /// its next `chunk` and the stream's bytes before it (`previous`, at least its last 3).
    /// An event begins at a line that follows a blank line, or at the stream's start. The chunk is
    /// scanned from its end back to the last event start only.
    static func noteEventStart(_ chunk: ByteBuffer, previous: [UInt8], head: inout [UInt8]) {
        let bytes = chunk.readableBytesView
        guard !bytes.isEmpty else { return }
        let base = bytes.startIndex
        // The byte at offset `k` of the chunk, reading into `previous` for negative offsets; the
        // stream's start reads as a blank line.
        func byte(_ k: Int) -> UInt8 {
            if k >= 0 { return bytes[base + k] }
            let index = previous.count + k
            return index >= 0 ? previous[index] : 10
        }
        var k = bytes.count - 1
        while k >= 0 {
            let current = byte(k)
            if current != 10, current != 13, byte(k - 1) == 10 {
                let before = byte(k - 2)
                if before == 10 || (before == 13 && byte(k - 3) == 10) {
                    head = Array(bytes[(base + k)..<(base + min(bytes.count, k + headCapacity))])
                    return
                }
            }
            k -= 1
        }
        // No event began in this chunk: it continues the latest one.
        if head.count < headCapacity {
            head.append(contentsOf: bytes.prefix(headCapacity - head.count))
        }
    }

    private static func value(_ text: Substring) -> String {
        String(text.first == " " ? text.dropFirst() : text)
    }
}

/// A passthrough event stream that must end with its dialect's terminal event: when the upstream
/// ends it without one, iteration throws a 502 ``GatewayError`` (`stream_truncated`), which the
/// response writer turns into an error event in the client's dialect.
public struct TerminalCheckedStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    /// Bytes kept from the end of the stream: more than any terminal event needs.
    static let tailCapacity = 256

    let upstream: UpstreamStream
    let terminal: StreamTerminal
    let provider: String

    public init(upstream: UpstreamStream, terminal: StreamTerminal, provider: String) {
        self.upstream = upstream
        self.terminal = terminal
        self.provider = provider
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: upstream.makeAsyncIterator(), terminal: terminal, provider: provider)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: UpstreamStream.AsyncIterator
        let terminal: StreamTerminal
        let provider: String
        var tail: [UInt8] = []
        /// The first bytes of the stream's latest event (see ``SSETail/noteEventStart(_:previous:head:)``),
        /// kept only for terminals whose event can outgrow the tail (``StreamTerminal/longEvent``).
        var head: [UInt8] = []
        var finished = false

        public mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            guard let chunk = try await base.next() else {
                finished = true
                guard terminal.longEvent ? terminal.endsStream(head: head, tail: tail) : terminal.endsStream(tail) else {
                    throw GatewayError(status: 502, type: .upstream,
                                       message: "provider '\(provider)' ended the stream without \(terminal.label): the answer is incomplete",
                                       code: .streamTruncated)
                }
                return nil
            }
            if terminal.longEvent { SSETail.noteEventStart(chunk, previous: tail, head: &head) }
            Self.keep(chunk, in: &tail)
            return chunk
        }

        /// Appends the end of `chunk` to `tail`, keeping at most ``tailCapacity`` bytes.
        static func keep(_ chunk: ByteBuffer, in tail: inout [UInt8]) {
            let capacity = TerminalCheckedStream.tailCapacity
            let count = chunk.readableBytes
            if count >= capacity {
                tail.removeAll(keepingCapacity: true)
                tail.append(contentsOf: chunk.readableBytesView.suffix(capacity))
                return
            }
            let overflow = tail.count + count - capacity
            if overflow > 0 { tail.removeFirst(overflow) }
            tail.append(contentsOf: chunk.readableBytesView)
        }
    }
}
