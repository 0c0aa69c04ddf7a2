import LuaRuntime
public import NIOCore
public import NIOHTTP1
import Synchronization
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One JSON line per request: what an operator greps or ships to a log store.
///
/// Fields: `time` (UTC, ms), `trace_id`, `method`, `route`, `provider`, `model`, `target` (config
/// path of the target that answered), `status`, `latency_ms`, `upstream_latency_ms`,
/// `first_chunk_ms` (streams: arrival to first chunk sent), `attempts`,
/// `retries`, `tokens_in`, `tokens_out`, `cost_usd` (null when unpriced), `cache`, `stream`, `error` (code only). Bodies
/// (`request_body`, `response_body`, each at most ``maxBodyBytes``) only when body logging is on.
/// Never headers, so never keys.
public enum RequestLogLine {
    public static let maxBodyBytes = 64 * 1024

    /// - Parameter bodies: false leaves bodies out even when kept (the console's feed never shows one).
    public static func render(_ record: RequestRecord, _ fields: RequestRecord.Fields, status: Int,
                              latency: Duration, bodies: Bool = true) -> [UInt8] {
        render(record, fields, status: status, latency: latency, wallClock: now(), bodies: bodies)
    }

    static func render(_ record: RequestRecord, _ fields: RequestRecord.Fields, status: Int, latency: Duration,
                       wallClock: timespec, bodies: Bool = true) -> [UInt8] {
        // Written byte by byte: this runs per request, and String interpolation and quoting through
        // temporaries cost more than the rest of the line (6 % of the gateway's CPU in a profile).
        var out = LineBytes()
        out.key("time")
        out.timestamp(wallClock)
        out.string("trace_id", record.traceID)
        if let trace = record.trace { out.string("otel_trace_id", trace.traceID) }
        out.string("method", record.method)
        out.string("route", record.route)
        out.string("provider", fields.provider)
        out.string("model", fields.model)
        out.string("target", fields.target)
        out.number("status", status)
        out.milliseconds("latency_ms", latency)
        out.milliseconds("upstream_latency_ms", fields.upstreamLatency)
        out.milliseconds("first_chunk_ms", fields.firstChunk)
        out.number("attempts", fields.attempts)
        out.number("retries", fields.retries)
        out.number("tokens_in", fields.tokensIn)
        out.number("tokens_out", fields.tokensOut)
        out.decimal("cost_usd", fields.costUSD)
        out.string("cache", fields.cache)
        out.key("stream")
        out.raw(fields.stream ? "true" : "false")
        out.string("error", fields.errorCode)
        if let realtime = fields.realtime {
            // Only for `/v1/realtime` sessions: frames each way and how the session ended.
            out.number("frames_to_upstream", realtime.framesToUpstream)
            out.number("frames_to_client", realtime.framesToClient)
            out.string("realtime_outcome", realtime.outcome)
            out.number("close_code", realtime.closeCode.map { Int(truncatingIfNeeded: $0) })
        }
        if !fields.hooks.isEmpty {
            // Only when hooks ran: `"hooks":[{"id":"g1","verdict":false}]`.
            out.key("hooks")
            out.raw("[")
            for (index, hook) in fields.hooks.enumerated() {
                out.raw(index == 0 ? "{\"id\":" : ",{\"id\":")
                out.quoted(hook.id)
                out.raw(hook.verdict ? ",\"verdict\":true}" : ",\"verdict\":false}")
            }
            out.raw("]")
        }
        if bodies && record.keepBodies {
            out.body("request_body", fields.requestBody)
            out.body("response_body", fields.responseBody)
        }
        out.raw("}\n")
        return out.bytes
    }

    static func now() -> timespec {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return spec
    }
}

/// The bytes of one log line, appended field by field.
private struct LineBytes {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(384) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func key(_ name: StaticString) {
        bytes.append(bytes.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        key(name)
        guard let value else { return raw("null") }
        quoted(value)
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\u00XX`, the rest as UTF-8.
    mutating func quoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A finite number as Swift spells it shortest (`0.00042`, `1.5e-07`: both JSON numbers).
    mutating func decimal(_ name: StaticString, _ value: Double?) {
        key(name)
        guard let value, value.isFinite else { return raw("null") }
        bytes.append(contentsOf: value.description.utf8)
    }

    mutating func number(_ name: StaticString, _ value: Int?) {
        key(name)
        guard let value else { return raw("null") }
        digits(value)
    }

    mutating func digits(_ value: Int, width: Int = 1) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            return digits(-value, width: width)
        }
        var scratch: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &scratch) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 || count < width
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// Milliseconds with microsecond precision: `12.345`.
    mutating func milliseconds(_ name: StaticString, _ value: Duration?) {
        key(name)
        guard let value else { return raw("null") }
        let micros = Int(value.components.seconds) * 1_000_000 + Int(value.components.attoseconds / 1_000_000_000_000)
        digits(micros / 1000)
        bytes.append(UInt8(ascii: "."))
        digits(micros % 1000, width: 3)
    }

    /// `"2026-11-25T15:42:13.123Z"`.
    mutating func timestamp(_ spec: timespec) {
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        bytes.append(UInt8(ascii: "\""))
        digits(Int(parts.tm_year) + 1900, width: 4)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, width: 2)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), width: 2)
        bytes.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), width: 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), width: 2)
        bytes.append(UInt8(ascii: "."))
        digits(Int(spec.tv_nsec / 1_000_000), width: 3)
        raw("Z\"")
    }

    mutating func body(_ name: StaticString, _ buffer: ByteBuffer?) {
        key(name)
        guard let buffer else { return raw("null") }
        let kept = Array(buffer.readableBytesView.prefix(RequestLogLine.maxBodyBytes))
        if kept.count == buffer.readableBytes, (try? JSONScan.scan(kept)) != nil {
            bytes.append(contentsOf: kept)  // already JSON: kept as a value, so jq can read into it
        } else {
            // Cut or not JSON: as a string (a cut may split a UTF-8 sequence; decoding repairs it).
            quoted(String(decoding: kept, as: UTF8.self))
        }
    }
}

/// Buffers log lines in memory and writes them out in batches from a background thread, so a
/// request never waits on a `write(2)` — nor blocks its event loop when the log pipe is full.
/// When the destination falls behind by more than `maxBuffered` bytes, new lines are dropped and
/// counted (a metric), never queued without bound.
public final class LineWriter: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var dropped = 0
    }

    /// The file, when writing to one (reopened by ``reopen()`` after log rotation).
    private let path: String?
    /// Where lines go; only `flush` and `reopen` (both off the event loops) touch it.
    private let descriptor: Mutex<Int32>
    private let maxBuffered: Int
    private let state = Mutex(State())

    /// - Parameter descriptor: where lines go (1 for stdout); not closed by the writer.
    public init(descriptor: Int32, maxBuffered: Int = 8 * 1024 * 1024) {
        self.path = nil
        self.descriptor = Mutex(descriptor)
        self.maxBuffered = maxBuffered
    }

    /// Opens (creating, appending) a log file.
    public init(path: String, maxBuffered: Int = 8 * 1024 * 1024) throws(GatewayError) {
        self.path = path
        self.descriptor = Mutex(try Self.openFile(path))
        self.maxBuffered = maxBuffered
    }

    private static func openFile(_ path: String) throws(GatewayError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw GatewayError(status: 500, type: .server,
                               message: "cannot open request log \(path): \(String(cString: strerror(errno)))", code: .requestLog)
        }
        return fd
    }

    deinit {
        if path != nil { descriptor.withLock { _ = close($0) } }
    }

    /// Opens the file again by its path (after logrotate moved it away), writing what is buffered
    /// to the old one first. Nothing to do for stdout/stderr.
    public func reopen() throws(GatewayError) {
        guard let path else { return }
        flush()
        let fresh = try Self.openFile(path)
        descriptor.withLock { fd in
            close(fd)
            fd = fresh
        }
    }

    public func append(_ line: [UInt8]) {
        state.withLock { state in
            if state.pending.count + line.count > maxBuffered {
                state.dropped += 1
            } else {
                state.pending.append(contentsOf: line)
            }
        }
    }

    /// Writes what is buffered (blocking; call it off the event loops). Returns the lines dropped
    /// since the last flush: refused while the backlog was full, or lost to a failed write.
    @discardableResult
    public func flush() -> Int {
        let (batch, dropped) = state.withLock { state in
            defer {
                state.pending = []
                state.dropped = 0
            }
            return (state.pending, state.dropped)
        }
        guard !batch.isEmpty else { return dropped }
        let lost = descriptor.withLock { fd in
            batch.withUnsafeBytes { bytes -> Int in
                var offset = 0
                while offset < bytes.count {
                    let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        // A full disk or a closed pipe: the rest is lost, and counted as dropped.
                        return bytes[offset...].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                    }
                    offset += written
                }
                return 0
            }
        }
        return dropped + lost
    }
}

/// Where finished requests go: their metrics, and their log line when a writer is set.
public struct RequestObserver: Sendable {
    public let metrics: GatewayMetrics
    public let log: LineWriter?
    /// Keep request and response bodies (at most ``RequestLogLine/maxBodyBytes`` each) in log lines.
    public let logBodies: Bool

    /// Requests started and not yet finished, and requests started in all: whether the gateway is
    /// idle (see ``Activity``).
    public let activity = Activity()

    /// What models cost, for `cost_usd`, the cost metric and budgets.
    public let pricing: PricingStore

    /// Where spans go; nil when tracing is off.
    public let tracer: GatewayTracer?

    public init(metrics: GatewayMetrics = GatewayMetrics(), log: LineWriter? = nil, logBodies: Bool = false,
                pricing: PricingStore = PricingStore(), tracer: GatewayTracer? = nil) {
        self.metrics = metrics
        self.log = log
        self.logBodies = logBodies
        self.pricing = pricing
        self.tracer = tracer
    }

    /// Counts requests, so housekeeping that stops the world for a moment (glibc's `malloc_trim`
    /// holds the allocator's locks while it walks the heap; during a burst of 500 streams that
    /// stalled them by 200 ms and more) runs only when nothing is in flight.
    public final class Activity: Sendable {
        private let inFlight = Atomic<Int>(0)
        private let started = Atomic<UInt64>(0)

        func begin() {
            inFlight.add(1, ordering: .relaxed)
            started.add(1, ordering: .relaxed)
        }

        func end() { inFlight.subtract(1, ordering: .relaxed) }

        /// Requests in flight now.
        public var current: Int { inFlight.load(ordering: .relaxed) }
        /// Requests started since the gateway started.
        public var total: UInt64 { started.load(ordering: .relaxed) }

        /// The console's live feed (here, in a class the observer already holds, so that copying
        /// the observer retains nothing more).
        public let console = ConsoleFeed()
    }

    /// The console's live feed of finished requests.
    public var console: ConsoleFeed { activity.console }

    /// - Parameter headers: the client's, for the W3C trace context it may carry (when tracing).
    public func makeRecord(method: String, route: String, traceID: String, body: ByteBuffer?,
                           headers: HTTPHeaders? = nil) -> RequestRecord {
        activity.begin()
        let trace = tracer.map { RequestTrace(tracer: $0, method: method, route: route, headers: headers ?? HTTPHeaders()) }
        let record = RequestRecord(method: method, route: route, traceID: traceID,
                                   keepBodies: logBodies && (log != nil || trace != nil), trace: trace)
        if record.keepBodies, let body { record.update { $0.requestBody = body } }
        return record
    }

    /// Records the end of a request: `status` is what the client got (a stream that failed
    /// mid-way keeps its 200, with `errorCode` set).
    public func finished(_ record: RequestRecord, status: Int, errorCode: String? = nil) {
        activity.end()
        let latency = ContinuousClock.now - record.started
        if let errorCode {
            record.update { $0.errorCode = errorCode }
            if errorCode == "script_error" { metrics.scriptFailed(kind: "request") }
        }
        var fields = record.snapshot
        if let provider = fields.provider, let model = fields.model, let usage = fields.pricedUsage {
            if let cost = pricing.cost(provider: provider, model: model, usage: usage) {
                fields.costUSD = cost
                record.update { $0.costUSD = cost }
                metrics.costAdded(provider: provider, model: model, key: fields.chargedKey ?? "none", usd: cost)
            } else {
                metrics.unpriced(provider: provider, model: model)
            }
        }
        for action in fields.whenFinished { action(fields) }
        metrics.requestFinished(route: record.route, provider: fields.provider, status: status, duration: latency,
                                model: fields.model, tokensIn: fields.tokensIn, tokensOut: fields.tokensOut)
        if let firstChunk = fields.firstChunk { metrics.firstChunk(provider: fields.provider ?? "none", after: firstChunk) }
        if metrics.genAI != nil, let operation = RequestTrace.operation(route: record.route) {
            metrics.genAIFinished(operation: operation, fields: fields, duration: latency)
        }
        record.trace?.finish(fields, status: status, clientTraceID: record.traceID)
        log?.append(RequestLogLine.render(record, fields, status: status, latency: latency))
        // One relaxed load when nobody watches the console (checked apart from the publish: as one
        // expression the feed was retained and released around the check on every request).
        if activity.console.isWatched {
            activity.console.publish(RequestLogLine.render(record, fields, status: status, latency: latency, bodies: false))
        }
    }
}
