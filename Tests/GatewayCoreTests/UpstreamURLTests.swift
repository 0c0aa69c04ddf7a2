import Testing
@testable import GatewayCore

/// Splitting provider URLs for the connection pool.
@Suite struct UpstreamURLTests {
    @Test func parsesSchemesHostsPortsAndTargets() throws {
        let a = try #require(UpstreamURL("https://api.openai.com/v1/chat/completions?x=1"))
        #expect(a.isTLS && a.host == "api.openai.com" && a.port == 443)
        #expect(a.target == "/v1/chat/completions?x=1")
        #expect(a.origin == "https://api.openai.com")
        #expect(a.hostHeader == "api.openai.com")

        let b = try #require(UpstreamURL("http://127.0.0.1:9000"))
        #expect(!b.isTLS && b.port == 9000 && b.target == "/")
        #expect(b.hostHeader == "127.0.0.1:9000")

        let c = try #require(UpstreamURL("http://[::1]:8080/v1?q"))
        #expect(c.host == "::1" && c.port == 8080 && c.target == "/v1?q")
        #expect(c.origin == "http://[::1]:8080")

        #expect(UpstreamURL("http://h?only=query")?.target == "/?only=query")
        #expect(UpstreamURL("http://h/p#frag")?.target == "/p")
    }

    @Test func portsHostsAndTargetsByteForByte() throws {
        #expect(UpstreamURL("http://h:080/x")?.port == 80)  // as Int(String) read it
        #expect(UpstreamURL("http://h:+81/x")?.port == 81)
        #expect(UpstreamURL("http://h:65535")?.port == 65535)
        let unicode = try #require(UpstreamURL("https://exämple.com/ü?q=ß#f"))
        #expect(unicode.host == "exämple.com" && unicode.target == "/ü?q=ß")
        #expect(UpstreamURL("http://[fe80::1]/v1")?.hostHeader == "[fe80::1]")
        #expect(UpstreamURL("https://h#frag")?.target == "/")
    }

    @Test(arguments: ["ftp://h/x", "http://", "http://:80/x", "http://h:0/", "http://h:99999/", "http://u:p@h/",
                      "http://[::1/x", "https://h:port/", "//h/x", "h/x", "http://h:/x", "http://h:-1/", "http://[::1]x/",
                      "http://[::1]:/", "http://h:65536/", "http://h:1e3/", "http://#x", "https:/h/x"])
    func rejects(text: String) {
        #expect(UpstreamURL(text) == nil, "\(text)")
    }
}

/// Messages about a broken upstream URL show only its origin, and never crash on odd input.
@Suite struct OriginTests {
    @Test func originHidesPathQueryAndCredentials() {
        #expect(Gateway.origin(of: "https://api.example.com/v1/x?key=secret") == "https://api.example.com")
        #expect(Gateway.origin(of: "http://user:pw@h:81/p") == "http://h:81")
        #expect(Gateway.origin(of: "http://") == "http://")
        #expect(Gateway.origin(of: "http://@/x") == "http://")
        #expect(Gateway.origin(of: "no scheme") == "(invalid URL)")
    }
}
