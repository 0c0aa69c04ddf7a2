public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Keep-alive HTTP/1.1 connections to upstreams, pooled per event loop and origin.
///
/// Why not AsyncHTTPClient: profiling the passthrough lane showed its per-request machinery
/// (transaction state machines, a separate head and body write, a request-body stream, task hops
/// to a different event loop) costing about twice what the HTTP server spent serving the request.
/// This client runs each exchange on the event loop the caller is already on, writes head and body
/// with one flush, and completes one promise per non-streaming response.
public final class UpstreamClient: Sendable {
    public let group: any EventLoopGroup
    /// Longest silence tolerated from an upstream before a 504 (also how long idle connections live).
    public let readTimeout: TimeAmount
    public let connectTimeout: TimeAmount
    private let pools: [ObjectIdentifier: LoopPool]
    private let tls: NIOSSLContext?

    /// - Parameters:
    ///   - maxIdlePerOrigin: idle keep-alive connections kept per origin and event loop.
    ///   - idleTimeout: how long an unused keep-alive connection is kept (nginx's upstream default).
    public init(eventLoopGroup: any EventLoopGroup, connectTimeout: TimeAmount = .seconds(10),
                readTimeout: TimeAmount = .seconds(600), maxIdlePerOrigin: Int = 64,
                idleTimeout: TimeAmount = .seconds(60)) {
        self.group = eventLoopGroup
        self.readTimeout = readTimeout
        self.connectTimeout = connectTimeout
        var pools: [ObjectIdentifier: LoopPool] = [:]
        for loop in eventLoopGroup.makeIterator() {
            pools[ObjectIdentifier(loop)] = LoopPool(eventLoop: loop, maxIdlePerOrigin: maxIdlePerOrigin, idleTimeout: idleTimeout)
        }
        self.pools = pools
        self.tls = Self.tls
    }

    /// Client TLS for every upstream connection, HTTP/1.1 by ALPN (the Realtime upgrade is an
    /// HTTP/1.1 exchange too); nil when it cannot be set up, which fails TLS connections only.
    static let tls: NIOSSLContext? = {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = ["http/1.1"]
        return try? NIOSSLContext(configuration: configuration)
    }()

    /// Sends a request and returns the response head with its body (collected, or streaming).
    /// - Parameters:
    ///   - deadline: when the whole exchange (or, for a stream, its head) must be done.
    ///   - maxBodyBytes: the largest non-streaming body accepted.
    ///
    /// It runs on its caller's executor (`nonisolated(nonsending)`), and waits for the answer on a
    /// continuation rather than `EventLoopFuture.get()`: a request task isolated to its event loop
    /// then neither leaves the loop to start the exchange nor to resume after it (each would be a
    /// trip through the loop's job queue; see EventLoopIsolation in GatewayServer).
    nonisolated(nonsending) public func execute(_ request: UpstreamRequest, deadline: NIODeadline?, maxBodyBytes: Int)
        async throws -> UpstreamResponse
    {
        let exchange = start(request, deadline: deadline, maxBodyBytes: maxBodyBytes,
                             on: MultiThreadedEventLoopGroup.currentEventLoop ?? group.next())
        // When the caller's task is cancelled (the client disconnected), the upstream exchange is
        // abandoned and its connection closed, so the provider stops generating.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                exchange.answer.whenComplete { continuation.resume(with: $0) }
            }
        } onCancel: {
            exchange.cancel()
        }
    }

    /// Starts an exchange on `loop` (the caller's, so that request, exchange and answer stay on
    /// one loop) and returns at once: the answer comes as a future completed on that loop.
    public func start(_ request: UpstreamRequest, deadline: NIODeadline?, maxBodyBytes: Int, on loop: any EventLoop)
        -> UpstreamExchange
    {
        // Last line of defence; callers check first so the error can name who built the request.
        if let problem = request.wireProblem {
            return UpstreamExchange(failed: UpstreamError(.invalidURL, "refused to send: \(problem)"), on: loop)
        }
        guard let pool = pools[ObjectIdentifier(loop)] else {
            return UpstreamExchange(failed: UpstreamError(.connect, "no connection pool for this event loop"), on: loop)
        }
        let promise = loop.makePromise(of: UpstreamResponse.self)
        let cancel = ExchangeCancellation()
        let job = Job(request: request, deadline: deadline, maxBodyBytes: maxBodyBytes, promise: promise,
                      cancel: cancel, client: self)
        if loop.inEventLoop {
            pool.run(job, allowRetry: true)
        } else {
            loop.execute { pool.run(job, allowRetry: true) }
        }
        return UpstreamExchange(answer: promise.futureResult) {
            if loop.inEventLoop { cancel.fire() } else { loop.execute { cancel.fire() } }
        }
    }

    /// Closes every pooled connection.
    public func shutdown() async {
        for pool in pools.values {
            try? await pool.eventLoop.submit { pool.closeAll() }.get()
        }
    }

    /// One exchange to run. A class: the pool's closures (retry, cancel, connect) each hold it,
    /// and copying a struct of this many references retained each of them per capture.
    final class Job: Sendable {
        let request: UpstreamRequest
        let deadline: NIODeadline?
        let maxBodyBytes: Int
        let promise: EventLoopPromise<UpstreamResponse>
        let cancel: ExchangeCancellation
        let client: UpstreamClient

        init(request: UpstreamRequest, deadline: NIODeadline?, maxBodyBytes: Int, promise: EventLoopPromise<UpstreamResponse>,
             cancel: ExchangeCancellation, client: UpstreamClient) {
            self.request = request
            self.deadline = deadline
            self.maxBodyBytes = maxBodyBytes
            self.promise = promise
            self.cancel = cancel
            self.client = client
        }
    }

    fileprivate func connect(_ url: UpstreamURL, on loop: any EventLoop) -> EventLoopFuture<any Channel> {
        let readTimeout = self.readTimeout
        let tls = self.tls
        return ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addUpstreamTransport(for: url, tls: tls)
                    // Requests go out as finished bytes (UpstreamRequest.serialized); answers are
                    // parsed by NIO's decoder. Headers are checked where they are made (wireProblem),
                    // so nothing re-validates them per byte on the way out.
                    let decoder = UpstreamResponseDecoder()
                    try sync.addHandler(ByteToMessageHandler(decoder))
                    try sync.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    try sync.addHandler(UpstreamConnectionHandler(decoder: decoder))
                }
            }
            .connect(host: url.connectAddress ?? url.host, port: url.port)
    }
}

/// Lets a cancelled caller abandon its exchange; touched only on the exchange's event loop.
final class ExchangeCancellation: @unchecked Sendable {
    private(set) var isFired = false
    private var action: (() -> Void)?

    func arm(_ action: @escaping () -> Void) {
        if isFired { action() } else { self.action = action }
    }

    func disarm() { action = nil }

    func fire() {
        isFired = true
        let action = self.action
        self.action = nil
        action?()
    }
}

/// The idle connections of one event loop; touched only on that loop.
private final class LoopPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    let maxIdlePerOrigin: Int
    let idleTimeout: TimeAmount
    /// Per origin, oldest first; reuse takes the newest so that surplus connections age out.
    private var idle: [UpstreamURL.Key: [(channel: any Channel, since: NIODeadline)]] = [:]
    private var sweeper: RepeatedTask?

    init(eventLoop: any EventLoop, maxIdlePerOrigin: Int, idleTimeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.maxIdlePerOrigin = maxIdlePerOrigin
        self.idleTimeout = idleTimeout
    }

    /// Closes connections idle for longer than `idleTimeout` (checked every few seconds, so a
    /// burst's surplus connections give their memory back soon after it ends).
    private func sweep() {
        let cutoff = NIODeadline.now() - idleTimeout
        for (key, entries) in idle {
            let stale = entries.prefix { $0.since < cutoff }
            guard !stale.isEmpty else { continue }
            idle[key] = Array(entries.dropFirst(stale.count))
            for entry in stale { entry.channel.close(promise: nil) }
        }
    }

    private func park(_ channel: any Channel, key: UpstreamURL.Key) {
        if sweeper == nil {
            let interval = min(idleTimeout, .seconds(5))
            sweeper = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
                self?.sweep()
            }
        }
        idle[key, default: []].append((channel, NIODeadline.now()))
    }

    func run(_ job: UpstreamClient.Job, allowRetry: Bool) {
        eventLoop.assertInEventLoop()
        let key = job.request.url.key
        while var channels = idle[key], let channel = channels.popLast()?.channel {
            idle[key] = channels
            if channel.isActive, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self) {
                start(job, on: channel, handler: handler, reused: allowRetry)
                return
            }
        }
        job.client.connect(job.request.url, on: eventLoop).whenComplete { result in
            switch result {
            case .success(let channel):
                // A pooled connection that closes while idle (server timeout, reset) must not stay
                // in the idle list, or dead channels pile up under live ones.
                let key = job.request.url.key
                channel.closeFuture.whenComplete { _ in
                    self.idle[key]?.removeAll { $0.channel === channel }
                }
                guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self) else {
                    job.promise.fail(UpstreamError(.connect, "connection pipeline incomplete"))
                    channel.close(promise: nil)
                    return
                }
                self.start(job, on: channel, handler: handler, reused: false)
            case .failure(let error):
                job.promise.fail(Self.connectError(error, url: job.request.url))
            }
        }
    }

    private func start(_ job: UpstreamClient.Job, on channel: any Channel, handler: UpstreamConnectionHandler, reused: Bool) {
        let key = job.request.url.key
        if job.cancel.isFired {
            job.promise.fail(UpstreamError(.cancelled, "the client went away"))
            park(channel, key: key)
            return
        }
        // Cancelling matters only until the head arrives; a stream is cancelled by ending it.
        job.cancel.arm { handler.expire(UpstreamError(.cancelled, "the client went away")) }
        job.promise.futureResult.whenComplete { _ in job.cancel.disarm() }
        handler.onExchangeEnd = { [weak self] reusable in
            guard let self, reusable else { return }
            // Keep a bounded number per origin, like nginx's `keepalive N`: after a burst (say
            // 2,000 concurrent streams) the extra connections close instead of holding memory
            // and sockets for the whole idle timeout.
            if self.idle[key, default: []].count >= self.maxIdlePerOrigin {
                channel.close(promise: nil)
            } else {
                self.park(channel, key: key)
            }
        }
        var deadlineTask: Scheduled<Void>?
        if let deadline = job.deadline {
            deadlineTask = eventLoop.scheduleTask(deadline: deadline) {
                handler.expire(UpstreamError(.deadline, "the request deadline passed"))
            }
        }
        let retry: (() -> Void)? = reused ? { [weak self] in self?.run(job, allowRetry: false) } : nil
        handler.start(job.request, exchange: .init(
            promise: job.promise, retry: retry, maxBodyBytes: job.maxBodyBytes, deadline: deadlineTask, keepAlive: true,
            relaysBinary: job.request.relaysBinary))
    }

    func closeAll() {
        sweeper?.cancel()
        sweeper = nil
        for channels in idle.values {
            for (channel, _) in channels { channel.close(promise: nil) }
        }
        idle.removeAll()
    }

    static func connectError(_ error: any Error, url: UpstreamURL) -> UpstreamError {
        if let error = error as? UpstreamError { return error }
        if let refusal = AddressPolicyHandler.refusal(in: error) {
            return UpstreamError(.forbiddenAddress, refusal.description)
        }
        if error is ChannelError, case ChannelError.connectTimeout = error {
            return UpstreamError(.connectTimeout, "connection timed out")
        }
        let text = "\(error)"
        if text.contains("connectTimeout") { return UpstreamError(.connectTimeout, "connection timed out") }
        if text.contains("connectRefused") || text.contains("Connection refused") || text.contains("ECONNREFUSED") {
            return UpstreamError(.connect, "connection refused")
        }
        return UpstreamError(.connect, String(text.prefix(300)))
    }
}

extension UpstreamURL {
    /// Pool key: where a connection goes.
    struct Key: Hashable {
        var isTLS: Bool
        var host: String
        var port: Int
        var connectAddress: String?
        var addressPolicy: AddressPolicy
    }

    var key: Key { Key(isTLS: isTLS, host: host, port: port, connectAddress: connectAddress, addressPolicy: addressPolicy) }
}

extension ChannelPipeline.SynchronousOperations {
    /// The handlers every upstream connection starts with, HTTP or WebSocket: the address policy,
    /// which sees every socket address NIO connects to (each resolved one), so the policy judges
    /// the address and not the URL's spelling of it; then TLS for https/wss, with SNI for a name.
    func addUpstreamTransport(for url: UpstreamURL, tls: NIOSSLContext?) throws {
        if url.addressPolicy != .any {
            try addHandler(AddressPolicyHandler(policy: url.addressPolicy))
        }
        if url.isTLS {
            guard let tls else { throw UpstreamError(.tls, "TLS is unavailable") }
            let isIP = url.host.contains(":") || url.host.allSatisfy { $0.isNumber || $0 == "." }
            try addHandler(try NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : url.host))
        }
    }
}
