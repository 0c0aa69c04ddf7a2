import LuaRuntime
public import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One JSON line per request: what an operator greps or ships to a log store.
///
/// Fields: `time` (UTC, ms), `trace_id`, `method`, `route`, `provider`, `model`, `target` (config
/// path of the target that answered), `status`, `latency_ms`, `upstream_latency_ms`, `attempts`,
/// `retries`, `tokens_in`, `tokens_out`, `cache`, `stream`, `error` (code only). Bodies
/// (`request_body`, `response_body`, each at most ``maxBodyBytes``) only when body logging is on.
/// Never headers, so never keys.
public enum RequestLogLine {
    public static let maxBodyBytes = 64 * 1024

    public static func render(_ record: RequestRecord, _ fields: RequestRecord.Fields, status: Int,
                              latency: Duration) -> [UInt8] {
        render(record, fields, status: status, latency: latency, wallClock: now())
    }

    static func render(_ record: RequestRecord, _ fields: RequestRecord.Fields, status: Int, latency: Duration,
                       wallClock: timespec) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320)
        func key(_ name: String) {
            out.append(out.count == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: "\":".utf8)
        }
        func string(_ name: String, _ value: String?) {
            key(name)
            if let value { out.append(contentsOf: JSONText.quote(value).utf8) } else { out.append(contentsOf: "null".utf8) }
        }
        func number(_ name: String, _ value: Int?) {
            key(name)
            out.append(contentsOf: (value.map(String.init) ?? "null").utf8)
        }
        func milliseconds(_ name: String, _ value: Duration?) {
            key(name)
            guard let value else { return out.append(contentsOf: "null".utf8) }
            let micros = value.components.seconds * 1_000_000 + value.components.attoseconds / 1_000_000_000_000
            out.append(contentsOf: "\(micros / 1000).\(pad(Int(micros % 1000), 3))".utf8)
        }
        string("time", timestamp(wallClock))
        string("trace_id", record.traceID)
        string("method", record.method)
        string("route", record.route)
        string("provider", fields.provider)
        string("model", fields.model)
        string("target", fields.target)
        number("status", status)
        milliseconds("latency_ms", latency)
        milliseconds("upstream_latency_ms", fields.upstreamLatency)
        number("attempts", fields.attempts)
        number("retries", fields.retries)
        number("tokens_in", fields.tokensIn)
        number("tokens_out", fields.tokensOut)
        string("cache", fields.cache)
        key("stream")
        out.append(contentsOf: (fields.stream ? "true" : "false").utf8)
        string("error", fields.errorCode)
        if record.keepBodies {
            body("request_body", fields.requestBody)
            body("response_body", fields.responseBody)
        }
        out.append(contentsOf: "}\n".utf8)
        return out

        func body(_ name: String, _ buffer: ByteBuffer?) {
            key(name)
            guard let buffer else { return out.append(contentsOf: "null".utf8) }
            let bytes = Array(buffer.readableBytesView.prefix(maxBodyBytes))
            if bytes.count == buffer.readableBytes, (try? JSONScan.scan(bytes)) != nil {
                out.append(contentsOf: bytes)  // already JSON: kept as a value, so jq can read into it
            } else {
                // Cut or not JSON: as a string (a cut may split a UTF-8 sequence; decoding repairs it).
                out.append(contentsOf: JSONText.quote(String(decoding: bytes, as: UTF8.self)).utf8)
            }
        }
    }

    static func now() -> timespec {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return spec
    }

    /// `2026-11-25T15:42:13.123Z`, without a formatter (it runs per request).
    static func timestamp(_ spec: timespec) -> String {
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(parts.tm_year + 1900)-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
            + "\(pad(Int(spec.tv_nsec / 1_000_000), 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
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
            throw GatewayError(status: 500, type: "server_error",
                               message: "cannot open request log \(path): \(String(cString: strerror(errno)))", code: "request_log")
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

    /// Writes what is buffered (blocking; call it off the event loops). Returns lines dropped since
    /// the last flush.
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
        descriptor.withLock { fd in
            batch.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return  // a closed or broken destination: nothing better to do than drop
                    }
                    offset += written
                }
            }
        }
        return dropped
    }
}

/// Where finished requests go: their metrics, and their log line when a writer is set.
public struct RequestObserver: Sendable {
    public let metrics: GatewayMetrics
    public let log: LineWriter?
    /// Keep request and response bodies (at most ``RequestLogLine/maxBodyBytes`` each) in log lines.
    public let logBodies: Bool

    public init(metrics: GatewayMetrics = GatewayMetrics(), log: LineWriter? = nil, logBodies: Bool = false) {
        self.metrics = metrics
        self.log = log
        self.logBodies = logBodies
    }

    public func makeRecord(method: String, route: String, traceID: String, body: ByteBuffer?) -> RequestRecord {
        let record = RequestRecord(method: method, route: route, traceID: traceID, keepBodies: logBodies && log != nil)
        if record.keepBodies, let body { record.update { $0.requestBody = body } }
        return record
    }

    /// Records the end of a request: `status` is what the client got (a stream that failed
    /// mid-way keeps its 200, with `errorCode` set).
    public func finished(_ record: RequestRecord, status: Int, errorCode: String? = nil) {
        let latency = ContinuousClock.now - record.started
        if let errorCode {
            record.update { $0.errorCode = errorCode }
            if errorCode == "script_error" { metrics.scriptFailed(kind: "request") }
        }
        let fields = record.snapshot
        metrics.requestFinished(route: record.route, provider: fields.provider, status: status, duration: latency,
                                model: fields.model, tokensIn: fields.tokensIn, tokensOut: fields.tokensOut)
        log?.append(RequestLogLine.render(record, fields, status: status, latency: latency))
    }
}
