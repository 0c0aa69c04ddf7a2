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

    /// A refused URL is echoed as its origin only: user-info (and paths) can hold credentials.
    @Test func refusalsNeverEchoCredentials() {
        for url in ["https://admin:PASS@10.0.0.1/v1", "http://admin:PASS@example.com/v1", "http://10.0.0.1/v1/PASS",
                    "http://10.0.0.1/v1?key=PASS", "ftp://admin:PASS@example.com"] {
            do {
                _ = try policy.validate(url)
                Issue.record("\(url) must be refused")
            } catch {
                #expect(!error.message.contains("PASS") && !error.message.contains("admin"), "\(error.message)")
            }
        }
    }

    /// Spellings of internal addresses that the old text check let through.
    @Test(arguments: [
        "http://[::ffff:a9fe:a9fe]/v1", "http://012.0.0.1/v1", "http://[0::0]/v1", "http://[::]:8080/v1",
        "http://0x7f.1/v1", "http://2130706433/v1", "http://10.1/v1", "http://[::a9fe:a9fe]/v1",
        "http://[64:ff9b::a9fe:a9fe]/v1", "http://[2002:a9fe:a9fe::]/v1", "http://0/v1", "http://[fe80::1%25eth0]/v1",
    ])
    func refusesEverySpellingOfInternalAddresses(url: String) {
        #expect(throws: GatewayError.self, "\(url)") { try policy.validate(url) }
    }

    @Test func operatorAllowListWins() throws {
        let allowing = CustomHostPolicy(allowedHosts: ["10.0.0.5", "Gpu-Box.Internal"])
        #expect(try allowing.validate("http://10.0.0.5:8000/v1") == "http://10.0.0.5:8000/v1")
        #expect(try allowing.validate("http://gpu-box.internal:11434") == "http://gpu-box.internal:11434")
        #expect(throws: GatewayError.self) { try allowing.validate("http://10.0.0.6/v1") }
        #expect(throws: GatewayError.self) { try allowing.validate("http://u:p@10.0.0.5/v1") }
    }
}
