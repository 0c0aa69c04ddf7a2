public import GatewayCore
public import Logging
public import NIOCore
import NIOConcurrencyHelpers
import NIOExtras
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle

/// The gateway's HTTP/1.1 listener, written on SwiftNIO directly.
///
/// Why not Hummingbird: the passthrough lane's profile showed Hummingbird's request machinery
/// (an async stream per connection, HTTPTypes conversion, a task per connection reading parts one
/// `await` at a time) costing more than the proxy hop itself; serving `/health` alone topped out
/// near nginx's *proxied* throughput, so the gateway could not reach 0.8× nginx on top of it. Here
/// each connection is one channel handler on its event loop; only the provider call runs as a task,
/// and that task stays on the same event loop (Swift concurrency runs on NIO's loops).
public final class GatewayHTTPServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var maxRequestBodyBytes: Int
        /// Admin endpoints, served only when configured (they carry their token).
        public var admin: AdminEndpoints?
        /// On SIGTERM/SIGINT, how long requests and streams in flight may take to finish.
        public var drainTimeout: Duration
        /// `GET /metrics`: renders the Prometheus text exposition; 404 when nil.
        public var metrics: (@Sendable () -> [UInt8])?
        /// Client connections silent this long are closed (408 when mid-request); nil: never.
        public var idleTimeout: Duration?
        /// Head deadline, body minimum rate and the cap on open connections.
        public var limits = ClientLimits()

        public init(host: String, port: Int, maxRequestBodyBytes: Int, admin: AdminEndpoints? = nil,
                    drainTimeout: Duration = .seconds(30), metrics: (@Sendable () -> [UInt8])? = nil,
                    idleTimeout: Duration? = .seconds(75), limits: ClientLimits = ClientLimits()) {
            self.idleTimeout = idleTimeout
            self.limits = limits
            self.host = host
            self.port = port
            self.maxRequestBodyBytes = maxRequestBodyBytes
            self.admin = admin
            self.drainTimeout = drainTimeout
            self.metrics = metrics
        }
    }

    let configuration: Configuration
    let gateway: Gateway
    let group: any EventLoopGroup
    let logger: Logger
    let onListening: @Sendable (SocketAddress) -> Void

    public init(configuration: Configuration, gateway: Gateway, group: any EventLoopGroup, logger: Logger,
                onListening: @escaping @Sendable (SocketAddress) -> Void) {
        self.configuration = configuration
        self.gateway = gateway
        self.group = group
        self.logger = logger
        self.onListening = onListening
    }

    /// Listens until a graceful shutdown (SIGTERM/SIGINT via the service group), then stops
    /// accepting, lets requests in flight finish, and returns when the last connection has closed.
    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let lifecycle = Lifecycle()
        let shared = ConnectionShared(gateway: gateway, logger: logger,
                                      maxRequestBodyBytes: configuration.maxRequestBodyBytes, admin: configuration.admin,
                                      metrics: configuration.metrics,
                                      idleTimeout: configuration.idleTimeout.map { .nanoseconds($0.nanoseconds) },
                                      lifecycle: lifecycle, limits: configuration.limits)
        let maxConnections = configuration.limits.maxConnections
        let metrics = gateway.observer.metrics
        let refusalLog = RefusalLog(logger: logger)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    guard lifecycle.admit(channel, limit: maxConnections) else {
                        // Over the cap: a 503 and close, without parsing the request (cheap).
                        metrics.clientConnectionCut(reason: "too_many_connections")
                        refusalLog.refused(limit: maxConnections)
                        try sync.addHandler(RefuseConnectionHandler())
                        return
                    }
                    // Requests are parsed by NIO's decoder (llhttp); answers are written as finished
                    // bytes by the connection handler's ResponseWriter, so there is no response
                    // encoder. The handler serves pipelined requests itself and answers parse errors
                    // in OpenAI's error shape. Response headers come from a parsed upstream response
                    // or from the gateway, and script-set headers are checked when the script returns
                    // them, so nothing re-validates them per byte on the way out.
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try sync.addHandler(GatewayConnectionHandler(shared: shared))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        if let address = channel.localAddress { onListening(address) }

        let drained = OnceSignal(channel.eventLoop.makePromise(of: Void.self))
        let logger = self.logger
        let drainTimeout = configuration.drainTimeout
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await drained.future.get()
            } onGracefulShutdown: {
                lifecycle.startDraining()
                logger.info("shutting down: no new connections; waiting for requests in flight",
                            metadata: ["open_connections": "\(lifecycle.openCount)"])
                drained.start { quiesce.initiateShutdown(promise: $0) }
                // At the deadline, what is still open is ended: streams with an error event.
                Task {
                    try? await Task.sleep(for: drainTimeout)
                    let (connections, streams) = await lifecycle.endRemaining()
                    if connections > 0 {
                        logger.warning("drain deadline passed: closed the connections still open",
                                       metadata: ["connections": "\(connections)", "streams_ended_with_error": "\(streams)"])
                    }
                }
            }
        } onCancel: {
            channel.close(promise: nil)
            drained.start { $0.succeed() }
        }
    }
}

/// Whether the listener is draining, and the connections still open (to end at the drain deadline).
final class Lifecycle: Sendable {
    private let state = NIOLockedValueBox<(draining: Bool, channels: [ObjectIdentifier: any Channel])>((false, [:]))

    var isDraining: Bool { state.withLockedValue { $0.draining } }
    var openCount: Int { state.withLockedValue { $0.channels.count } }

    func track(_ channel: any Channel) {
        _ = admit(channel, limit: 0)
    }

    /// Tracks the channel unless `limit` (> 0) connections are open already.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state in
            if limit > 0 && state.channels.count >= limit { return false }
            state.channels[id] = channel
            return true
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { _ in self.state.withLockedValue { _ = $0.channels.removeValue(forKey: id) } }
        return true
    }

    func startDraining() { state.withLockedValue { $0.draining = true } }

    /// Tells every open connection the deadline passed; returns (connections, streams) ended.
    func endRemaining() async -> (Int, Int) {
        let channels = state.withLockedValue { Array($0.channels.values) }
        let streams = NIOLockedValueBox(0)
        let futures = channels.map { channel in
            channel.eventLoop.submit {
                if let handler = try? channel.pipeline.syncOperations.handler(type: GatewayConnectionHandler.self),
                   handler.endAtDrainDeadline() {
                    streams.withLockedValue { $0 += 1 }
                }
                channel.close(promise: nil)
            }
        }
        for future in futures { _ = try? await future.get() }
        return (channels.count, streams.withLockedValue { $0 })
    }
}

/// A promise completed by whichever of several paths gets there first.
private final class OnceSignal: Sendable {
    private let promise: EventLoopPromise<Void>
    private let started = NIOLockedValueBox(false)

    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    var future: EventLoopFuture<Void> { promise.futureResult }

    func start(_ body: (EventLoopPromise<Void>) -> Void) {
        let first = started.withLockedValue { started in
            defer { started = true }
            return !started
        }
        if first { body(promise) }
    }
}
