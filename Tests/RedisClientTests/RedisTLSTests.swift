import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import RedisClient
import Testing

/// `rediss://` against redis-server's TLS port, with a certificate made for the test by the
/// openssl command: trusted, it works; with the system's roots instead, the connect is refused.
@Suite(.serialized, .enabled(if: RedisServer.executable != nil, "\(RedisServer.missing)"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "the openssl command is not installed"),
       .timeLimit(.minutes(1)))
struct RedisTLSTests {
    @Test func redissVerifiesTheServer() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        try RedisServer.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        let server = try await RedisServer(extraArguments: ["--requirepass", "tls-secret"], tls: (certificate, key))
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup.singleton

        var configuration = RedisClient.Configuration(url: try RedisURL("rediss://:tls-secret@localhost:\(server.port)/2"))
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        configuration.tls = tls
        configuration.connectTimeout = .seconds(5)
        configuration.commandTimeout = .seconds(5)
        let redis = try RedisClient(configuration: configuration, eventLoopGroup: group)
        try await redis.waitUntilConnected()
        #expect(try await redis.send(["SET", "over", "tls"]) == .simpleString("OK"))
        #expect(try await redis.send(["GET", "over"]).string == "tls")
        try await redis.shutdown()

        // The same server, not trusted: no connection, so commands are unavailable.
        var untrusted = configuration
        untrusted.tls = nil
        let refused = try RedisClient(configuration: untrusted, eventLoopGroup: group)
        await #expect(throws: (any Error).self) { try await refused.waitUntilConnected() }
        await #expect(throws: RedisClientError.unavailable) { try await refused.send(["PING"]) }
        try await refused.shutdown()

        // Plain redis:// to the TLS port does not get an answer it could mistake for one.
        var plain = configuration
        plain.url.tls = false
        plain.tls = nil
        let mismatched = try RedisClient(configuration: plain, eventLoopGroup: group)
        await #expect(throws: (any Error).self) { try await mismatched.waitUntilConnected() }
        try await mismatched.shutdown()
    }
}
