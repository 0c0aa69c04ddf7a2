import ArgumentParser
import NIOCore

/// Where requests go: a parsed `http://host:port/path` that must point at this machine.
///
/// Why loopback only: LoadGen opens thousands of connections per second; pointing it at a
/// real service by mistake would be an attack, so anything but 127.0.0.0/8, `localhost` and
/// `::1` is refused before a socket is opened.
struct Target: Sendable {
    /// The socket to connect to (resolved once; no DNS per connection).
    let address: SocketAddress
    /// Path plus query, as sent on the request line.
    let path: String
    /// Value for the `Host` header.
    let hostHeader: String

    init(parsing text: String) throws {
        guard text.prefix(7).lowercased() == "http://" else {
            throw ValidationError("--url must start with http:// (https is not supported): \(text)")
        }
        var rest = text.dropFirst(7)
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty { path = "/" } else if path.first == "?" { path = "/" + path }
        guard !authority.contains("@") else {
            throw ValidationError("--url must not contain user info: \(text)")
        }

        let (host, portText) = try Self.split(authority: authority, url: text)
        var port = 80
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else {
                throw ValidationError("--url has an invalid port '\(portText)': \(text)")
            }
            port = number
        }
        self.address = try Self.loopbackAddress(host: host, port: port)
        self.path = path
        let bracketed = host.contains(":") ? "[\(host)]" : host
        self.hostHeader = port == 80 ? bracketed : "\(bracketed):\(port)"
    }

    /// Splits `host[:port]` or `[v6][:port]`.
    private static func split(authority: Substring, url: String) throws -> (String, Substring?) {
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else {
                throw ValidationError("--url has an unterminated IPv6 address: \(url)")
            }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.first == ":" else { throw ValidationError("--url has a malformed host: \(url)") }
            return (host, after.dropFirst())
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = parts.first, !host.isEmpty else {
            throw ValidationError("--url has a malformed host (IPv6 needs brackets): \(url)")
        }
        return (String(host), parts.count == 2 ? parts[1] : nil)
    }

    private static func loopbackAddress(host: String, port: Int) throws -> SocketAddress {
        let refusal = ValidationError(
            "refusing host '\(host)': LoadGen only targets loopback (127.0.0.0/8, localhost or ::1)"
        )
        if host.lowercased() == "localhost" {
            return try SocketAddress(ipAddress: "127.0.0.1", port: port)
        }
        guard let address = try? SocketAddress(ipAddress: host, port: port) else { throw refusal }
        switch address {
        case .v4:
            guard address.ipAddress?.hasPrefix("127.") == true else { throw refusal }
        case .v6:
            guard address.ipAddress == "::1" else { throw refusal }
        default:
            throw refusal
        }
        return address
    }
}
