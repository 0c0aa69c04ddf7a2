#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
#if canImport(CNIOLinux)
import CNIOLinux  // where sockaddr_in's members are found from when the module has many files (MemberImportVisibility)
#endif

/// An IP address as the socket layer reads it, so the SSRF policy judges the address that is
/// connected to rather than the text a client wrote.
///
/// Hosts are parsed with `inet_pton` (the strict parser: four decimal IPv4 numbers without leading
/// zeros, RFC 4291 IPv6). IPv4 spellings that only the lenient `inet_aton` accepts (`012.0.0.1` is
/// octal 10.0.0.1, `0x7f.1`, `2130706433`, `10.1`) are *refused*, not canonicalized: URL parsers,
/// resolvers and proxies disagree on what they mean, so no client has a legitimate use for them and
/// any one reading of them would differ from somebody else's. IPv6 addresses that embed an IPv4
/// address (mapped, compatible, SIIT, NAT64, 6to4) are judged as that IPv4 address.
enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// 16 bytes, network order.
    case v6([UInt8])

    /// What a URL host (without brackets) is.
    enum Parsed: Equatable {
        /// A canonical IP literal.
        case address(IPAddress)
        /// An IPv4 spelling only `inet_aton` accepts (octal, hex, one-to-three-part or a 32-bit
        /// decimal number); `means` is where it would connect.
        case nonCanonicalIPv4(means: IPAddress)
        /// Looks numeric (or is bracketed IPv6) but is no address at all.
        case invalid(String)
        /// A host name, to be resolved.
        case name
    }

    /// Parses a URL host, lowercase or not, without brackets.
    static func parse(host: String) -> Parsed {
        if host.utf8.contains(UInt8(ascii: ":")) {
            if host.utf8.contains(UInt8(ascii: "%")) { return .invalid("IPv6 zone identifiers are not allowed") }
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { return .invalid("not a valid IPv6 address") }
            return .address(.v6(withUnsafeBytes(of: &address) { Array($0) }))
        }
        var strict = in_addr()
        if inet_pton(AF_INET, host, &strict) == 1 {
            return .address(.v4(UInt32(bigEndian: strict.s_addr)))
        }
        var lenient = in_addr()
        if inet_aton(host, &lenient) != 0 {
            return .nonCanonicalIPv4(means: .v4(UInt32(bigEndian: lenient.s_addr)))
        }
        // A host whose last label is a number is an IPv4 address to URL parsers (WHATWG); one that
        // does not parse (`256.1.1.1`, `1.2.3.4.5`) is refused rather than sent to DNS.
        let last = host.split(separator: ".", omittingEmptySubsequences: true).last ?? ""
        let lastIsNumeric = !last.isEmpty && (last.allSatisfy(\.isASCIIDigitCharacter)
            || (last.lowercased().hasPrefix("0x") && last.dropFirst(2).allSatisfy(\.isHexDigit)))
        if lastIsNumeric { return .invalid("not a valid IPv4 address") }
        return .name
    }

    /// A canonical literal (`inet_pton` accepts it), nil otherwise.
    init?(_ host: String) {
        guard case .address(let address) = Self.parse(host: host) else { return nil }
        self = address
    }

    /// The address a socket connects to.
    init?(_ socket: SocketAddress) {
        switch socket {
        case .v4(let v4):
            self = .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            self = .v6(withUnsafeBytes(of: &raw) { Array($0) })
        case .unixDomainSocket:
            return nil
        }
    }

    /// The IPv4 address this one stands for: itself, or the one an IPv6 address embeds
    /// (`::ffff:a.b.c.d` mapped, `::ffff:0:a.b.c.d` SIIT, `::a.b.c.d` compatible, `64:ff9b::a.b.c.d`
    /// NAT64, `2002:aabb:ccdd::/48` 6to4).
    var embeddedIPv4: UInt32? {
        switch self {
        case .v4(let value): return value
        case .v6(let b):
            func word(_ at: Int) -> UInt32 {
                UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
            }
            let firstEightZero = b[0..<8].allSatisfy { $0 == 0 }
            if firstEightZero && b[8] == 0 && b[9] == 0 && b[10] == 0xff && b[11] == 0xff { return word(12) }  // mapped
            if firstEightZero && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0 { return word(12) }  // SIIT
            if b[0..<12].allSatisfy({ $0 == 0 }) && word(12) > 1 { return word(12) }  // compatible (not :: or ::1)
            if b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..<12].allSatisfy({ $0 == 0 }) {
                return word(12)  // NAT64 well-known prefix
            }
            if b[0] == 0x20 && b[1] == 0x02 { return word(2) }  // 6to4
            return nil
        }
    }

    /// Where an address points, as far as the policy cares.
    enum Scope: Equatable {
        case loopback, unspecified, privateNetwork, linkLocal, sharedAddressSpace, reserved, translation, global

        var reason: String? {
            switch self {
            case .global, .loopback: return nil
            case .unspecified: return "the unspecified address (0.0.0.0, ::) is not allowed"
            case .privateNetwork: return "private network addresses are not allowed unless an operator allows the host"
            case .linkLocal: return "link-local and metadata addresses (169.254.0.0/16, fe80::/10) are not allowed"
            case .sharedAddressSpace: return "shared address space (100.64.0.0/10) is not allowed"
            case .reserved: return "this address range (multicast, reserved, broadcast) is not allowed"
            case .translation: return "Teredo and local-use NAT64 addresses are not allowed"
            }
        }
    }

    var scope: Scope {
        if let v4 = embeddedIPv4 { return Self.scope(ofIPv4: v4) }
        guard case .v6(let b) = self else { return .global }
        if b[0..<15].allSatisfy({ $0 == 0 }) { return b[15] == 1 ? .loopback : .unspecified }
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return .linkLocal }  // fe80::/10
        if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return .privateNetwork }  // fec0::/10 (site-local)
        if b[0] & 0xfe == 0xfc { return .privateNetwork }  // fc00::/7, includes fd00:ec2::254
        if b[0] == 0xff { return .reserved }  // multicast
        if b[0] == 0x01 && b[1] == 0 && b[2..<8].allSatisfy({ $0 == 0 }) { return .reserved }  // 100::/64 discard
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0 { return .translation }  // Teredo 2001::/32
        if b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1 { return .translation }
        if b[0..<10].allSatisfy({ $0 == 0 }) { return .reserved }  // the rest of ::/80 (deprecated, odd forms)
        return .global
    }

    static func scope(ofIPv4 value: UInt32) -> Scope {
        let a = value >> 24, b = (value >> 16) & 0xff
        switch a {
        case 0: return value == 0 ? .unspecified : .reserved  // 0.0.0.0/8 "this network": reaches this host
        case 127: return .loopback
        case 10: return .privateNetwork
        case 172 where (16...31).contains(b): return .privateNetwork
        case 192 where b == 168: return .privateNetwork
        case 169 where b == 254: return .linkLocal
        case 100 where (64...127).contains(b): return .sharedAddressSpace
        case 192 where b == 0 && (value >> 8) & 0xff == 0: return .reserved  // 192.0.0.0/24 protocol assignments
        case 198 where b == 18 || b == 19: return .reserved  // benchmarking
        case 224...255: return .reserved
        default: return .global
        }
    }

    /// The standard text form (`inet_ntop`), an embedded IPv4 address written as IPv4.
    var description: String {
        switch self {
        case .v4(let value): return Self.dotted(value)
        case .v6(let bytes):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// `description`, plus the IPv4 address an IPv6 one embeds: `::ffff:a9fe:a9fe (169.254.169.254)`.
    var explained: String {
        if case .v6 = self, let v4 = embeddedIPv4 { return "\(description) (\(Self.dotted(v4)))" }
        return description
    }

    static func dotted(_ value: UInt32) -> String {
        "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
    }
}

/// Which addresses an upstream connection may reach, checked on every socket address at connect
/// time (after resolution, for each address Happy Eyeballs tries).
public enum AddressPolicy: Sendable, Hashable {
    /// Anything: provider base URLs and hosts an operator configured or allow-listed.
    case any
    /// A host a client (or a config) chose: loopback and public addresses.
    case clientChosen
    /// Public addresses only (image URLs fetched on a client's behalf).
    case publicOnly

    /// Why `address` may not be connected to under this policy, or nil when it may.
    func refusal(_ address: IPAddress) -> String? {
        switch self {
        case .any: return nil
        case .clientChosen: return address.scope.reason
        case .publicOnly:
            let scope = address.scope
            return scope == .loopback ? "loopback addresses are not allowed" : scope.reason
        }
    }
}

/// Refused by the address policy at connect time; carried inside NIO's connection errors.
struct ForbiddenAddressError: Error, CustomStringConvertible {
    var address: String
    var reason: String
    var description: String { "\(address): \(reason)" }
}

/// First outbound handler of a policed upstream channel: fails the connect to a socket address
/// the policy refuses, before any packet is sent.
final class AddressPolicyHandler: ChannelOutboundHandler {
    typealias OutboundIn = Any
    let policy: AddressPolicy

    init(policy: AddressPolicy) { self.policy = policy }

    func connect(context: ChannelHandlerContext, to address: SocketAddress, promise: EventLoopPromise<Void>?) {
        if let refusal = Self.check(address, policy: policy) {
            promise?.fail(refusal)
            return
        }
        context.connect(to: address, promise: promise)
    }

    /// The refusal of one socket address, nil when the policy lets it be connected to.
    static func check(_ address: SocketAddress, policy: AddressPolicy) -> ForbiddenAddressError? {
        guard policy != .any else { return nil }
        guard let ip = IPAddress(address) else { return ForbiddenAddressError(address: "\(address)", reason: "not an IP address") }
        return policy.refusal(ip).map { ForbiddenAddressError(address: ip.explained, reason: $0) }
    }

    /// The refusal inside a connect error (NIO wraps each address's failure in a
    /// `NIOConnectionError` when it resolved the name itself).
    static func refusal(in error: any Error) -> ForbiddenAddressError? {
        if let refusal = error as? ForbiddenAddressError { return refusal }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.lazy.compactMap { $0.error as? ForbiddenAddressError }.first
        }
        return nil
    }
}
