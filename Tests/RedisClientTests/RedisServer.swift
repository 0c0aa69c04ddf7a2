import Foundation
import NIOCore
import NIOPosix

/// A `redis-server` on 127.0.0.1 for one test: a free port, no persistence, stopped at the end.
final class RedisServer: @unchecked Sendable {
    /// Where Debian's redis-server is (`make system-deps` installs it), or nil.
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/sbin"] {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()
    static let missing = "redis-server is not installed (`make system-deps` installs Debian's redis-server)"

    let port: Int
    let arguments: [String]
    private var process: Process?

    /// - Parameter tls: certificate and key files: the port then speaks TLS only (`rediss://`).
    init(extraArguments: [String] = [], tls: (certificate: String, key: String)? = nil) async throws {
        let port = try await Self.freePort()
        self.port = port
        arguments = extraArguments + (tls.map {
            ["--tls-port", "\(port)", "--tls-cert-file", $0.certificate, "--tls-key-file", $0.key,
             "--tls-ca-cert-file", $0.certificate, "--tls-auth-clients", "no"]
        } ?? [])
        try await start()
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts (or restarts, on the same port) and waits until it accepts connections.
    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable!)
        let plainPort = arguments.contains("--tls-port") ? 0 : port
        process.arguments = ["--port", "\(plainPort)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--enable-debug-command", "yes", "--loglevel", "warning"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<250 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop()
        throw ServerError(message: "redis-server did not listen on port \(port) within 5 s")
    }

    /// SIGKILL, then waits for the process to end. (SIGTERM would not do: the test runner's threads
    /// block it, and the child inherits that signal mask, so redis-server never sees it.)
    func stop() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit { stop() }

    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    struct ServerError: Error { let message: String }

    /// Runs a program to its end; throws when it fails.
    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ServerError(message: "\(executable) exited with \(process.terminationStatus)")
        }
    }
}
