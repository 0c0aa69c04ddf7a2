import Synchronization
import Testing
@testable import GatewayCore

/// Where a client-chosen custom host name points is checked before connecting, with a fake resolver.
@Suite struct CustomHostResolverTests {
    final class FakeDNS: Sendable {
        let answers: [String: [String]]
        let lookups = Mutex(0)
        init(_ answers: [String: [String]]) { self.answers = answers }
        func resolve(_ host: String, _ port: Int) -> [String]? {
            lookups.withLock { $0 += 1 }
            return answers[host]
        }
    }

    func resolver(_ dns: FakeDNS) -> CustomHostResolver {
        CustomHostResolver { host, port in dns.resolve(host, port) }
    }

    @Test func namesPointingAtPrivateOrMetadataAddressesAreRefused() async {
        let dns = FakeDNS(["internal.example.com": ["10.0.0.5"], "meta.example.com": ["169.254.169.254"],
                           "mixed.example.com": ["93.184.216.34", "192.168.1.9"]])
        let resolver = resolver(dns)
        for (host, address) in [("internal.example.com", "10.0.0.5"), ("meta.example.com", "169.254.169.254"),
                                ("mixed.example.com", "192.168.1.9")] {
            do {
                _ = try await resolver.vet(host: host, port: 443)
                Issue.record("\(host) must be refused")
            } catch {
                #expect(error.status == 400)
                #expect(error.message.contains("'\(host)' resolves to \(address)"))
            }
        }
    }

    @Test func publicNamesArePinnedAndRememberedForTheTTL() async throws {
        let dns = FakeDNS(["api.example.com": ["93.184.216.34", "93.184.216.35"]])
        let resolver = resolver(dns)
        let now = ContinuousClock.now
        #expect(try await resolver.vet(host: "API.example.com", port: 443, now: now) == "93.184.216.34")
        #expect(try await resolver.vet(host: "api.example.com", port: 443, now: now + .seconds(10)) == "93.184.216.34")
        #expect(dns.lookups.withLock { $0 } == 1)
        _ = try await resolver.vet(host: "api.example.com", port: 443, now: now + CustomHostResolver.ttl + .seconds(1))
        #expect(dns.lookups.withLock { $0 } == 2)
    }

    @Test func unresolvableNamesAre502AndLiteralsAreNotLookedUp() async throws {
        let dns = FakeDNS([:])
        let resolver = resolver(dns)
        do {
            _ = try await resolver.vet(host: "nowhere.example", port: 80)
            Issue.record("must fail")
        } catch {
            #expect(error.status == 502 && error.code == "upstream_unreachable")
        }
        for literal in ["127.0.0.1", "::1", "localhost", "api.localhost"] {
            #expect(try await resolver.vet(host: literal, port: 80) == nil)
        }
        #expect(dns.lookups.withLock { $0 } == 1)
    }
}
