public import NIOCore
public import NIOHTTP1
import LuaRuntime

/// One request to an upstream provider.
public struct UpstreamRequest: Sendable {
    public var method: HTTPMethod
    public var url: UpstreamURL
    public var headers: HTTPHeaders
    public var body: ByteBuffer?
    /// Whether a 2xx binary answer (audio, `application/octet-stream`) is relayed as it arrives
    /// rather than collected: on unless the provider script translates complete answers, which
    /// needs them whole.
    public var relaysBinary = false

    public init(method: HTTPMethod, url: UpstreamURL, headers: HTTPHeaders, body: ByteBuffer?) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// What in this request cannot be written as HTTP/1.1 without changing its framing (a line
    /// break in the URL, a header, the method), or nil. The Host header comes from a parsed URL.
    public var wireProblem: String? {
        if let problem = WireSyntax.methodProblem(method.rawValue) { return problem }
        if let problem = WireSyntax.targetProblem(url.target) { return problem }
        if let problem = WireSyntax.targetProblem(url.host) { return "the host: " + problem }
        for (name, value) in headers {
            if let problem = WireSyntax.headerProblem(name: name, value: value) { return problem }
        }
        return nil
    }
}

/// What came back: a collected body, or an event stream whose chunks arrive as the upstream sends them.
public enum UpstreamResponse: Sendable {
    case complete(UpstreamHead, ByteBuffer)
    case stream(UpstreamHead, UpstreamStream)

    public var head: UpstreamHead {
        switch self {
        case .complete(let head, _), .stream(let head, _): return head
        }
    }
}

/// An upstream event stream with backpressure: when the consumer falls behind by
/// ``UpstreamStreamDelegate/highWatermark`` chunks (the client reads slowly), the connection stops
/// reading from the provider until it is down to ``UpstreamStreamDelegate/lowWatermark``, so TCP
/// slows the provider instead of the gateway holding the stream in memory.
public typealias UpstreamStream = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, UpstreamStreamDelegate>

/// Resumes reading on the upstream connection when the consumer wants more, and closes it when the
/// consumer stops early (the client left) — only if that stream is still the connection's current one.
public struct UpstreamStreamDelegate: NIOAsyncSequenceProducerDelegate {
    static let lowWatermark = 2
    static let highWatermark = 8

    let resume: @Sendable () -> Void
    let terminated: @Sendable () -> Void

    public func produceMore() { resume() }
    public func didTerminate() { terminated() }
}

public struct UpstreamHead: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
}

/// Why an upstream exchange failed.
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The connection could not be made (refused, unreachable, DNS).
        case connect
        case connectTimeout
        /// The request deadline (x-portkey-request-timeout) passed.
        case deadline
        /// The upstream was silent for longer than the read timeout.
        case readTimeout
        /// The connection closed or reset before the response was complete.
        case closed
        case tooLarge
        case invalidURL
        case tls
        /// The caller went away before the response head arrived.
        case cancelled
        /// Every address the host resolved to is refused by the URL's ``AddressPolicy``.
        case forbiddenAddress
    }

    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind): \(detail)" }
}

/// An absolute http(s) URL split the way a connection pool needs it.
public struct UpstreamURL: Sendable, Hashable {
    public var isTLS: Bool
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`.
    public var target: String
    /// The address to connect to instead of resolving `host` (a vetted IP, so a name cannot
    /// re-resolve somewhere else between the check and the connection). `host` still names the
    /// server in the Host header and for TLS.
    public var connectAddress: String?
    /// Which socket addresses the connection may reach, checked at connect time for every
    /// resolved address (``AddressPolicy``); `.any` for hosts an operator configured.
    public var addressPolicy: AddressPolicy = .any

    /// `scheme://host[:port]`, for messages that must not echo paths or keys.
    public var origin: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let defaultPort = isTLS ? 443 : 80
        return (isTLS ? "https://" : "http://") + bracketed + (port == defaultPort ? "" : ":\(port)")
    }

    /// The Host header value.
    public var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == (isTLS ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
    }

    public init(isTLS: Bool, host: String, port: Int, target: String) {
        self.isTLS = isTLS
        self.host = host
        self.port = port
        self.target = target
    }

    /// Parses `http(s)://host[:port][/path][?query]`; nil for anything else.
    ///
    /// Runs per request, on the URL the provider script built: it scans the bytes once by offset
    /// (Substring index arithmetic cost ~11k instructions per URL, `bench/instructions --profile`).
    public init?(_ text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Self.parse($0) }) else { return nil }
        (isTLS, host, port, target) = parsed
    }

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (Bool, String, Int, String)? {
        let isTLS: Bool
        var i: Int
        if b.starts(with: "https://".utf8) {
            isTLS = true
            i = 8
        } else if b.starts(with: "http://".utf8) {
            isTLS = false
            i = 7
        } else {
            return nil
        }
        let authorityStart = i
        while i < b.count, b[i] != UInt8(ascii: "/"), b[i] != UInt8(ascii: "?"), b[i] != UInt8(ascii: "#") { i += 1 }
        let authorityEnd = i
        var restEnd = b.count
        if let hash = b[authorityEnd...].firstIndex(of: UInt8(ascii: "#")) { restEnd = hash }
        let authority = b[authorityStart..<authorityEnd]
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")) else { return nil }
        var host: Slice<UnsafeBufferPointer<UInt8>>
        var port = isTLS ? 443 : 80
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = b[(authorityStart + 1)..<close]
            let after = b[(close + 1)..<authorityEnd]
            if after.first == UInt8(ascii: ":") {
                guard let p = decimalPort(b[(close + 2)..<authorityEnd]) else { return nil }
                port = p
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            host = b[authorityStart..<colon]
            guard let p = decimalPort(b[(colon + 1)..<authorityEnd]) else { return nil }
            port = p
        } else {
            host = authority
        }
        guard !host.isEmpty else { return nil }
        let rest = b[authorityEnd..<restEnd]
        let target: String
        if rest.isEmpty {
            target = "/"
        } else if rest.first == UInt8(ascii: "?") {
            target = "/" + String(decoding: rest, as: UTF8.self)
        } else {
            target = String(decoding: rest, as: UTF8.self)
        }
        return (isTLS, String(decoding: host, as: UTF8.self), port, target)
    }

    /// 1–65535 written in decimal digits only (as `Int(String)` would accept: an optional `+`).
    private static func decimalPort(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        var digits = digits
        if digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), value <= 65535 else { return nil }
            value = value * 10 + Int(truncatingIfNeeded: byte &- UInt8(ascii: "0"))
        }
        return (1...65535).contains(value) ? value : nil
    }
}
