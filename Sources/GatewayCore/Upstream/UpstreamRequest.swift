public import NIOCore
public import NIOHTTP1
import LuaRuntime

/// One request to an upstream provider.
public struct UpstreamRequest: Sendable {
    public var method: HTTPMethod
    public var url: UpstreamURL
    public var headers: HTTPHeaders
    public var body: ByteBuffer?

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
    public init?(_ text: String) {
        let utf8 = text.utf8
        let isTLS: Bool
        var rest: Substring
        if utf8.starts(with: "https://".utf8) {
            isTLS = true
            rest = Substring(text).dropFirst(8)
        } else if utf8.starts(with: "http://".utf8) {
            isTLS = false
            rest = Substring(text).dropFirst(7)
        } else {
            return nil
        }
        // Byte-level scanning (UTF8View) instead of Character iteration: this runs per request.
        let authorityEnd = rest.utf8.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") })
            ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        if let hash = rest.utf8.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        guard !authority.isEmpty, !authority.utf8.contains(UInt8(ascii: "@")) else { return nil }
        var host: Substring
        var port = isTLS ? 443 : 80
        if authority.utf8.first == UInt8(ascii: "[") {
            guard let close = authority.utf8.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[authority.utf8.index(after: authority.startIndex)..<close]
            let after = authority[authority.utf8.index(after: close)...]
            if after.utf8.first == UInt8(ascii: ":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            } else if !after.isEmpty {
                return nil
            }
        } else if let colon = authority.utf8.lastIndex(of: UInt8(ascii: ":")) {
            host = authority[..<colon]
            guard let p = Int(authority[authority.utf8.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
        } else {
            host = authority
        }
        guard !host.isEmpty else { return nil }
        self.isTLS = isTLS
        self.host = String(host)
        self.port = port
        if rest.isEmpty {
            self.target = "/"
        } else if rest.utf8.first == UInt8(ascii: "?") {
            self.target = "/" + rest
        } else {
            self.target = String(rest)
        }
    }
}
