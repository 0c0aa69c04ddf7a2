import Testing
@testable import GatewayCore

/// x-portkey-custom-host: loopback and public hosts pass, metadata/private/credentials/schemes do not.
@Suite struct CustomHostPolicyTests {
    let policy = CustomHostPolicy()

    @Test func acceptsLoopbackAndPublicHosts() throws {
        #expect(try policy.validate("http://127.0.0.1:9000/v1/") == "http://127.0.0.1:9000/v1")
        #expect(try policy.validate("http://localhost:11434") == "http://localhost:11434")
        #expect(try policy.validate("http://[::1]:8080/v1") == "http://[::1]:8080/v1")
        #expect(try policy.validate(" https://api.example.com/openai/v1 ") == "https://api.example.com/openai/v1")
        #expect(try policy.validate("HTTPS://Api.Example.com") == "https://Api.Example.com")
    }

    @Test(arguments: [
        ("http://169.254.169.254/latest", "link-local"),
        ("http://metadata.google.internal/computeMetadata", "metadata"),
        ("http://10.0.0.5/v1", "private"),
        ("http://172.20.1.1/v1", "private"),
        ("http://192.168.1.10:8080", "private"),
        ("http://[fe80::1]/v1", "link-local"),
        ("http://[fd00::1]/v1", "private"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://user:pass@example.com/v1", "credentials"),
        ("ftp://example.com", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("example.com/v1", "absolute"),
        ("http:///v1", "no host"),
        ("http://example.com/v1?x=1", "query"),
        ("http://0.0.0.0:80", "not allowed"),
    ])
    func refuses(url: String, reason: String) {
        do {
            _ = try policy.validate(url)
            Issue.record("\(url) must be refused")
        } catch {
            #expect(error.status == 400)
            #expect(error.param == "x-portkey-custom-host")
            #expect(error.message.contains(reason), "\(url): \(error.message)")
        }
    }

    @Test func operatorAllowListWins() throws {
        let allowing = CustomHostPolicy(allowedHosts: ["10.0.0.5", "Gpu-Box.Internal"])
        #expect(try allowing.validate("http://10.0.0.5:8000/v1") == "http://10.0.0.5:8000/v1")
        #expect(try allowing.validate("http://gpu-box.internal:11434") == "http://gpu-box.internal:11434")
        #expect(throws: GatewayError.self) { try allowing.validate("http://10.0.0.6/v1") }
        #expect(throws: GatewayError.self) { try allowing.validate("http://u:p@10.0.0.5/v1") }
    }
}
