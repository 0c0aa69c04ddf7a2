import FoundationEssentials
import LuaRuntime
import Synchronization
/// Decides whether a client-supplied `x-portkey-custom-host` may be used as an upstream base URL.
///
/// Loopback is allowed (local models, tests). Link-local and cloud metadata addresses, the other
/// private ranges, URLs carrying credentials and non-http(s) schemes are refused unless an operator
/// allow-list names the host. Host names are checked as written here; where a name resolves is
/// checked before connecting, by ``CustomHostResolver``.
public struct CustomHostPolicy: Sendable {
    /// Hosts (lowercase, without port) an operator allows regardless of the rules.
    public var allowedHosts: Set<String>
    /// Clients send the same few custom hosts over and over; remember recent verdicts.
    private let verdicts = VerdictCache()

    public init(allowedHosts: Set<String> = []) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }

    /// Returns the normalized base URL (no trailing slash) or throws a 400 explaining the refusal.
    public func validate(_ raw: String) throws(GatewayError) -> String {
        if let known = verdicts.lookup(raw) { return try known.get() }
        let verdict = Result { () throws(GatewayError) in try check(raw) }
        verdicts.store(raw, verdict)
        return try verdict.get()
    }

    private func check(_ raw: String) throws(GatewayError) -> String {
        let value = raw.trimmingWhitespace()
        // The refused value is echoed without user-info, path or query (they can hold credentials).
        func refuse(_ reason: String) -> GatewayError {
            .invalidHeader("x-portkey-custom-host", "\(reason) (got '\(Self.shown(value))')")
        }
        if let problem = WireSyntax.targetProblem(value) { throw refuse(problem) }  // it becomes the request line
        guard let schemeEnd = value.firstRange(of: "://") else {
            throw refuse("expected an absolute http:// or https:// URL")
        }
        let scheme = value[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw refuse("only http and https are allowed")
        }
        let rest = value[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if authority.contains("@") {
            throw refuse("credentials in the URL are not allowed")
        }
        if rest[authorityEnd...].contains(where: { $0 == "?" || $0 == "#" }) {
            throw refuse("a custom host cannot carry a query or fragment")
        }
        guard let host = Self.host(of: authority), !host.isEmpty else {
            throw refuse("the URL has no host")
        }
        if !allowedHosts.contains(host) {
            if let problem = Self.forbiddenReason(host: host) { throw refuse(problem) }
        }
        var normalized = scheme + "://" + authority + rest[authorityEnd...]
        while normalized.hasSuffix("/") { normalized.removeLast() }
        return normalized
    }

    /// What a refusal may echo of a URL: `scheme://host[:port]`, user-info dropped, at most 200
    /// characters.
    static func shown(_ url: String) -> String {
        let origin = url.contains("://") ? Gateway.origin(of: url) : String(url.prefix { $0 != "@" && $0 != "/" && $0 != "?" })
        return origin.count > 200 ? String(origin.prefix(197)) + "..." : origin
    }

    /// The lowercase host of an authority (`host:port`, `[v6]:port`), without brackets.
    static func host<S: StringProtocol>(of authority: S) -> String? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || (after.hasPrefix(":") && after.count > 1 && after.dropFirst().allSatisfy(\.isASCIIDigitCharacter)) else {
                return nil
            }
            return authority[authority.index(after: authority.startIndex)..<close].lowercased()
        }
        if let colon = authority.lastIndex(of: ":") {
            let port = authority[authority.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isASCIIDigitCharacter) else { return nil }
            return authority[..<colon].lowercased()
        }
        return authority.lowercased()
    }

    /// Why a host is refused, or nil when it is acceptable. IP literals are judged by the address
    /// they denote (``IPAddress``); names by their spelling here and by where they resolve in
    /// ``CustomHostResolver`` and at connect time.
    static func forbiddenReason(host: String) -> String? {
        switch IPAddress.parse(host: host) {
        case .address(let address):
            // The address is named when the spelling hides it (`::ffff:a9fe:a9fe` is 169.254.169.254).
            let explained = address.explained
            return address.scope.reason.map { explained == host ? $0 : "\(host) is \(explained): \($0)" }
        case .nonCanonicalIPv4(let means):
            return "'\(host)' is a non-canonical IPv4 spelling (it would connect to \(means)); write the address as four decimal numbers"
        case .invalid(let problem):
            return problem
        case .name:
            break
        }
        guard host.utf8.allSatisfy({ byte in
            (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        }) else {
            return "the host name has characters a host name cannot have"
        }
        let host = host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") { return nil }
        if host == "metadata.google.internal" || host == "metadata" || host.hasSuffix(".internal") {
            return "cloud metadata hosts are not allowed"
        }
        return nil
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

/// A small bounded memo of custom-host verdicts, shared by copies of a policy.
private final class VerdictCache: Sendable {
    private let entries = Mutex<[String: Result<String, GatewayError>]>([:])
    private static let capacity = 1024

    func lookup(_ key: String) -> Result<String, GatewayError>? {
        entries.withLock { $0[key] }
    }

    func store(_ key: String, _ verdict: Result<String, GatewayError>) {
        guard key.utf8.count <= 512 else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = verdict
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks (the whitespace HTTP header
    /// values can carry). Returns `self` without copying when there is none, the usual case.
    func trimmingWhitespace() -> String {
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }
        let bytes = utf8
        guard let first = bytes.first, let last = bytes.last, isSpace(first) || isSpace(last) else { return self }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = bytes.lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }

    /// Whether the string begins with `prefix` (written in lowercase ASCII), ignoring ASCII case;
    /// `whole`: and has nothing after it. Compares bytes in place: no string is built (header
    /// names and schemes are matched with it on every request).
    func hasPrefix(ignoringASCIICase prefix: StaticString, whole: Bool = false) -> Bool {
        prefix.withUTF8Buffer { expected in
            let utf8 = self.utf8
            guard whole ? utf8.count == expected.count : utf8.count >= expected.count else { return false }
            func matches<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
                var index = bytes.startIndex
                for byte in expected {
                    let have = bytes[index]
                    if (have >= 65 && have <= 90 ? have | 0x20 : have) != byte { return false }
                    index = bytes.index(after: index)
                }
                return true
            }
            return utf8.withContiguousStorageIfAvailable(matches) ?? matches(utf8)
        }
    }

    /// ASCII lowercase; returns `self` without allocating when nothing is uppercase (header names
    /// from clients are usually lowercase already).
    public func asciiLowercased() -> String {
        guard utf8.contains(where: { $0 >= 65 && $0 <= 90 }) else { return self }
        return String(decoding: utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

/// Secret comparison whose time does not depend on where the strings differ (gateway keys, the
/// admin token).
public func constantTimeEquals(_ presented: String, _ secret: String) -> Bool {
    let a = Array(presented.utf8), b = Array(secret.utf8)
    var difference = a.count ^ b.count
    for index in 0..<max(a.count, b.count) {
        difference |= Int((index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0))
    }
    return difference == 0
}

extension Duration {
    /// The duration in milliseconds, with fractions (for latencies in logs and results).
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }

    /// Whole nanoseconds, saturating (swift-metrics timers, NIO's `TimeAmount`).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : scaled + attoseconds / 1_000_000_000
    }
}
