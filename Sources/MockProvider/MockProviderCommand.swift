import ArgumentParser
import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// `MockProvider --host 127.0.0.1 --port 9000 --threads N`
///
/// Binds, prints exactly one `MockProvider listening on http://HOST:PORT` line (tests parse it to
/// learn the port when `--port 0` asked the OS for a free one), then serves until SIGINT or SIGTERM.
struct MockProviderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "MockProvider",
        abstract: "A fast fake OpenAI / Anthropic / Gemini upstream for tests and benchmarks."
    )

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free port.")
    var port = 9000

    @Option(help: "Event loop threads; defaults to the number of cores.")
    var threads = System.coreCount

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let pacers = Dictionary(uniqueKeysWithValues: group.makeIterator().map { (ObjectIdentifier($0), Pacer(loop: $0)) })
        // Thousands of streams open within a second (bench/streams-memory): NIO accepts only 4
        // connections per loop iteration by default, so a loop busy with thousands of paced writes
        // admits new ones slowly and fewer streams are open at once than the client asked for (the
        // same setting let a gateway hold all 1,000 of 1,000 streams at once instead of ~720). The
        // kernel caps the backlog at net.core.somaxconn (4096 here).
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.maxMessagesPerRead, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The upgrader serves the Realtime WebSocket (RealtimeMock.swift); other requests pass.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [RealtimeMock.upgrader()], completionHandler: { context in
                            RealtimeMock.removeHTTPHandlers(context.pipeline)
                        }),
                        withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RealtimeUpgradeRefusalFilter())
                    try channel.pipeline.syncOperations.addHandler(MockHTTPHandler(pacer: pacers[ObjectIdentifier(channel.eventLoop)]))
                }
            }
            .bind(host: host, port: port)
            .wait()

        let boundPort = server.localAddress?.port ?? port
        FileHandle.standardOutput.write(Data("MockProvider listening on http://\(host):\(boundPort)\n".utf8))

        let signals = Self.onTermination {
            server.close(promise: nil)
        }
        try server.closeFuture.wait()
        signals.forEach { $0.cancel() }
        try group.syncShutdownGracefully()
    }

    /// Installs SIGINT/SIGTERM handlers that run `action` once; the sources must stay alive.
    private static func onTermination(_ action: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }
}
