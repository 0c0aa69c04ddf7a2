/// Where the state store is: `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS.
///
/// The port defaults to 6379 and the database to 0. A password alone is written
/// `redis://:password@host`; user and password are percent-decoded. Anything else — a query, a
/// fragment, a user without a password — is refused with a ``RedisURLError`` that names what is
/// wrong; neither the error nor ``description`` ever shows the password.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var user: String?
    public var password: String?
    public var tls: Bool

    public init(host: String, port: Int = 6379, database: Int = 0, user: String? = nil,
                password: String? = nil, tls: Bool = false) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.tls = tls
    }

    public init(_ text: String) throws(RedisURLError) {
        let rest: Substring
        if text.hasPrefix("redis://") {
            tls = false
            rest = text.dropFirst("redis://".count)
        } else if text.hasPrefix("rediss://") {
            tls = true
            rest = text.dropFirst("rediss://".count)
        } else {
            let scheme = text.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            // Only the scheme is shown: what follows it may hold a password.
            throw RedisURLError("the scheme must be redis:// or rediss:// (got '\(scheme.prefix(16))')")
        }
        if rest.contains("?") { throw RedisURLError("query parameters are not supported") }
        if rest.contains("#") { throw RedisURLError("a fragment ('#…') is not supported") }

        var authority = rest
        var path: Substring = ""
        // The user information may hold '/' (percent-encoding is optional in practice); the path
        // starts at the first '/' after the last '@'.
        let afterAt = rest.lastIndex(of: "@").map { rest.index(after: $0) } ?? rest.startIndex
        if let slash = rest[afterAt...].firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        }

        user = nil
        password = nil
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            guard let colon = info.firstIndex(of: ":") else {
                throw RedisURLError("a user without a password (write redis://user:password@host, or redis://:password@host)")
            }
            let name = try Self.percentDecoded(info[..<colon], what: "user name")
            let secret = try Self.percentDecoded(info[info.index(after: colon)...], what: "password")
            guard !secret.isEmpty else { throw RedisURLError("an empty password") }
            user = name.isEmpty ? nil : name
            password = secret
        }

        // Host: a name, an IPv4 address or a bracketed IPv6 address; then an optional port.
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw RedisURLError("an IPv6 address without its closing ']'") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisURLError("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw RedisURLError("no host") }
        guard host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "%") }) else {
            throw RedisURLError("the host '\(host.prefix(64))' holds characters a host name cannot")
        }
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw RedisURLError("the port '\(portText.prefix(16))' is not a number from 1 to 65535")
            }
            port = number
        } else {
            port = 6379
        }

        if path.isEmpty {
            database = 0
        } else {
            guard let number = Int(path), number >= 0, number <= 1_000_000 else {
                throw RedisURLError("the database '\(path.prefix(16))' is not a number (redis://host:port/0)")
            }
            database = number
        }
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        var text = tls ? "rediss://" : "redis://"
        if password != nil { text += "\(user ?? ""):***@" }
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)"
        if database != 0 { text += "/\(database)" }
        return text
    }

    private static func percentDecoded(_ text: Substring, what: String) throws(RedisURLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw RedisURLError("the \(what) holds a '%' not followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why a Redis URL was refused. The message never includes the password.
public struct RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { "invalid Redis URL: \(message)" }
}
