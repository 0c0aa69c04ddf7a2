import Testing
@testable import GatewayCore

/// Which resolved addresses the gateway may fetch images from (public only).
@Suite struct ImageFetcherTests {
    @Test func onlyPublicAddressesQualify() {
        for address in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
                        "169.254.169.254", "100.64.0.1", "0.0.0.0", "fd00::1", "fe80::1", "224.0.0.1"] {
            #expect(ImageFetcher.nonPublicReason(address) != nil, "\(address) must be refused")
        }
        for address in ["8.8.8.8", "93.184.216.34", "2606:4700::6810:85e5", "172.32.0.1", "100.128.0.1"] {
            #expect(ImageFetcher.nonPublicReason(address) == nil, "\(address) is public")
        }
    }

    @Test func literalAddressesAreNotResolved() async throws {
        #expect(try await ImageFetcher.resolve("10.0.0.1", port: 80) == ["10.0.0.1"])
        #expect(try await ImageFetcher.resolve("::1", port: 80) == ["::1"])
        // "localhost" resolves through getaddrinfo to loopback, which is refused.
        let local = try await ImageFetcher.resolve("localhost", port: 80)
        #expect(!local.isEmpty && local.allSatisfy { ImageFetcher.nonPublicReason($0) != nil })
    }
}
