import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import GatewayCore

/// The SSRF policy judges the address a socket connects to: every spelling of a host is parsed
/// with the socket layer's own parsers, and the connect itself is checked.
@Suite struct IPAddressTests {
    /// Host as written → what it denotes (canonical text) → allowed for a client-chosen custom host?
    @Test(arguments: [
        // canonical IPv4
        ("127.0.0.1", "127.0.0.1", true),
        ("8.8.8.8", "8.8.8.8", true),
        ("172.32.0.1", "172.32.0.1", true),
        ("10.0.0.1", "10.0.0.1", false),
        ("172.31.255.255", "172.31.255.255", false),
        ("192.168.1.1", "192.168.1.1", false),
        ("169.254.169.254", "169.254.169.254", false),
        ("100.64.0.1", "100.64.0.1", false),
        ("192.0.0.192", "192.0.0.192", false),
        ("224.0.0.1", "224.0.0.1", false),
        ("255.255.255.255", "255.255.255.255", false),
        ("0.0.0.0", "0.0.0.0", false),
        // IPv6, and IPv6 forms that embed IPv4 (judged as the IPv4 address)
        ("::1", "::1", true),
        ("0:0:0:0:0:0:0:1", "::1", true),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1", true),
        ("2606:4700::6810:85e5", "2606:4700::6810:85e5", true),
        ("::", "::", false),
        ("0::0", "::", false),
        ("0:0:0:0:0:0:0:0", "::", false),
        ("::ffff:a9fe:a9fe", "::ffff:169.254.169.254", false),
        ("::FFFF:A9FE:A9FE", "::ffff:169.254.169.254", false),
        ("::ffff:169.254.169.254", "::ffff:169.254.169.254", false),
        ("::ffff:0:a9fe:a9fe", "::ffff:0:a9fe:a9fe", false),
        ("::a9fe:a9fe", "::169.254.169.254", false),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1", false),
        ("::ffff:0.0.0.0", "::ffff:0.0.0.0", false),
        ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe", false),
        ("64:ff9b::10.0.0.1", "64:ff9b::a00:1", false),
        ("64:ff9b::8.8.8.8", "64:ff9b::808:808", true),
        ("64:ff9b:1::1", "64:ff9b:1::1", false),
        ("2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1", false),
        ("2002:0808:0808::1", "2002:808:808::1", true),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136:e378:8000:63bf:3fff:fdd2", false),
        ("fe80::1", "fe80::1", false),
        ("febf::1", "febf::1", false),
        ("fec0::1", "fec0::1", false),
        ("fd00:ec2::254", "fd00:ec2::254", false),
        ("fc00::1", "fc00::1", false),
        ("ff02::1", "ff02::1", false),
    ])
    func canonicalLiterals(host: String, canonical: String, allowed: Bool) {
        guard case .address(let address) = IPAddress.parse(host: host) else {
            Issue.record("\(host) must parse as an address")
            return
        }
        #expect(address.description == canonical)
        #expect((AddressPolicy.clientChosen.refusal(address) == nil) == allowed, "\(host)")
        #expect((CustomHostPolicy.forbiddenReason(host: host.lowercased()) == nil) == allowed, "\(host)")
    }

    /// Spellings only inet_aton (and so getaddrinfo) accepts: refused, naming where they lead.
    @Test(arguments: [
        ("012.0.0.1", "10.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("3232235777", "192.168.1.1"),
    ])
    func nonCanonicalIPv4IsRefused(host: String, means: String) {
        #expect(IPAddress.parse(host: host) == .nonCanonicalIPv4(means: IPAddress(means)!))
        let reason = CustomHostPolicy.forbiddenReason(host: host)
        #expect(reason?.contains("non-canonical") == true && reason?.contains(means) == true, "\(host): \(reason ?? "nil")")
        #expect(ImageFetcher.nonPublicReason(host) != nil)
    }

    @Test(arguments: ["256.1.1.1", "1.2.3.4.5", "1.2.3.999", "fe80::1%eth0", "1::2::3", "::ffff:1.2.3", "example.0x10"])
    func numericNonsenseIsRefused(host: String) {
        guard case .invalid = IPAddress.parse(host: host) else {
            Issue.record("\(host) must be invalid, got \(IPAddress.parse(host: host))")
            return
        }
        #expect(CustomHostPolicy.forbiddenReason(host: host) != nil)
    }

    @Test func namesAreNames() {
        for host in ["example.com", "api.openai.com", "localhost", "gpu-box", "a1.b2", "1x.example"] {
            #expect(IPAddress.parse(host: host) == .name, "\(host)")
        }
        #expect(CustomHostPolicy.forbiddenReason(host: "exa mple.com") != nil)
        #expect(CustomHostPolicy.forbiddenReason(host: "example.com\r\nx-smuggled: 1") != nil)
    }

    @Test func imageFetchesRefuseLoopbackToo() {
        #expect(AddressPolicy.publicOnly.refusal(IPAddress("127.0.0.1")!) != nil)
        #expect(AddressPolicy.publicOnly.refusal(IPAddress("::ffff:7f00:1")!) != nil)
        #expect(AddressPolicy.publicOnly.refusal(IPAddress("::1")!) != nil)
        #expect(AddressPolicy.publicOnly.refusal(IPAddress("8.8.8.8")!) == nil)
        #expect(AddressPolicy.any.refusal(IPAddress("10.0.0.1")!) == nil)
    }

    /// The connect-time check sees socket addresses (what getaddrinfo produced, or the pinned one).
    @Test func connectTimeCheckJudgesSocketAddresses() throws {
        for (address, refused) in [("10.0.0.1", true), ("169.254.169.254", true), ("::ffff:169.254.169.254", true),
                                   ("0.0.0.0", true), ("::", true), ("127.0.0.1", false), ("::1", false), ("8.8.8.8", false)] {
            let socket = try SocketAddress(ipAddress: address, port: 80)
            #expect((AddressPolicyHandler.check(socket, policy: .clientChosen) != nil) == refused, "\(address)")
            #expect(AddressPolicyHandler.check(socket, policy: .any) == nil)
        }
        let metadata = AddressPolicyHandler.check(try SocketAddress(ipAddress: "::ffff:a9fe:a9fe", port: 80), policy: .clientChosen)
        #expect(metadata?.address == "::ffff:169.254.169.254 (169.254.169.254)")
    }

    @Test func refusalsInsideNIOConnectionErrorsAreFound() {
        let refusal = ForbiddenAddressError(address: "10.0.0.1", reason: "private")
        #expect(AddressPolicyHandler.refusal(in: refusal)?.address == "10.0.0.1")
        #expect(AddressPolicyHandler.refusal(in: ChannelError.connectTimeout(.seconds(1))) == nil)
    }
}

/// The check sits in the real upstream pipeline: a connect the policy refuses fails with
/// `.forbiddenAddress` before any packet (only local addresses are used here).
@Suite struct AddressPolicyConnectTests {
    @Test(arguments: [("0.0.0.0", AddressPolicy.clientChosen), ("[::]", .clientChosen), ("localhost", .publicOnly),
                      ("127.0.0.1", .publicOnly)])
    func refusedAtConnect(host: String, policy: AddressPolicy) async throws {
        let client = UpstreamClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, connectTimeout: .seconds(5))
        var url = try #require(UpstreamURL("http://\(host):1/v1"))
        url.addressPolicy = policy
        do {
            _ = try await client.execute(UpstreamRequest(method: .GET, url: url, headers: [:], body: nil),
                                         deadline: .now() + .seconds(10), maxBodyBytes: 1024)
            Issue.record("\(host) must not be connected to")
        } catch let error as UpstreamError {
            #expect(error.kind == .forbiddenAddress, "\(host): \(error)")
        }
        await client.shutdown()
    }
}
