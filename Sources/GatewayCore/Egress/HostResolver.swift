#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import Synchronization

/// Name resolution for the checks that must see where a name points before connecting (image
/// URLs, custom hosts): `getaddrinfo` on NIO's blocking pool, never on an event loop.
enum HostResolver {
    /// The host's addresses (the host itself when it is an IP literal), or nil when it does not
    /// resolve.
    static func addresses(of host: String, port: Int) async -> [String]? {
        if let literal = IPAddress(host) { return [literal.description] }
        return try? await NIOThreadPool.singleton.runIfActive { () -> [String]? in
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let list else { return nil }
            defer { freeaddrinfo(list) }
            var addresses: [String] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = list
            while let entry = cursor {
                var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                if entry.pointee.ai_family == AF_INET {
                    entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        var address = sin.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
                    }
                } else if entry.pointee.ai_family == AF_INET6 {
                    entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        var address = sin6.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
                    }
                }
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !text.isEmpty && !addresses.contains(text) { addresses.append(text) }
                cursor = entry.pointee.ai_next
            }
            return addresses
        } ?? nil
    }
}

/// Checks where a client-chosen custom host's *name* points: every address it resolves to must
/// pass ``CustomHostPolicy`` (so `internal.example.com → 10.0.0.5` or `→ 169.254.169.254` is
/// refused like the literal would be), and the connection is pinned to the vetted address, so the
/// name cannot be re-pointed between the check and the connect (DNS rebinding).
///
/// Verdicts are kept for ``ttl`` per host and port (clients send the same few hosts; a lookup per
/// request would put `getaddrinfo` on the hot path), at most ``capacity`` of them.
final class CustomHostResolver: Sendable {
    typealias Resolve = @Sendable (_ host: String, _ port: Int) async -> [String]?

    static let ttl = Duration.seconds(30)
    static let capacity = 1024

    private let resolve: Resolve
    private let verdicts = Mutex<[String: (expires: ContinuousClock.Instant, verdict: Result<String, GatewayError>)]>([:])

    init(resolve: @escaping Resolve = { host, port in await HostResolver.addresses(of: host, port: port) }) {
        self.resolve = resolve
    }

    /// Whether `host` is a name to resolve: not an IP literal (the policy already judged those) and
    /// not `localhost`.
    static func needsLookup(_ host: String) -> Bool {
        let host = host.lowercased()
        guard case .name = IPAddress.parse(host: host) else { return false }
        return !(host == "localhost" || host.hasSuffix(".localhost"))
    }

    /// The address to connect to for `host`, or nil when the host needs no check (an IP literal,
    /// already checked by the policy, or `localhost`). Throws 400 when an address is forbidden and
    /// 502 when the name does not resolve.
    func vet(host: String, port: Int, now: ContinuousClock.Instant = .now) async throws(GatewayError) -> String? {
        let host = host.lowercased()
        guard Self.needsLookup(host) else { return nil }
        let key = host + ":" + String(port)
        if let known = verdicts.withLock({ $0[key] }), known.expires > now { return try known.verdict.get() }
        let verdict: Result<String, GatewayError>
        if let addresses = await resolve(host, port), let first = addresses.first {
            if let (address, reason) = addresses.lazy.compactMap({ a in CustomHostPolicy.forbiddenReason(host: a).map { (a, $0) } }).first {
                verdict = .failure(.invalidHeader(
                    "x-portkey-custom-host", "'\(host)' resolves to \(address): \(reason) (an operator can allow the host with --allow-host)"))
            } else {
                verdict = .success(first)
            }
        } else {
            verdict = .failure(GatewayError(status: 502, type: .upstream,
                                            message: "custom host '\(host)' does not resolve", code: .upstreamUnreachable))
        }
        verdicts.withLock { table in
            if table.count >= Self.capacity { table.removeAll(keepingCapacity: true) }
            table[key] = (now + Self.ttl, verdict)
        }
        return try verdict.get()
    }
}
