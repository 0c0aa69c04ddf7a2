public import Logging
public import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
public import NIOSSL

/// A Redis client on SwiftNIO, pooled per event loop.
///
/// There is no Redis client in the package mirror this project builds from, so this one is small
/// and written for the gateway's use: RESP2, single node, commands pipelined on a few connections
/// per event loop.
///
/// - A command runs on a connection owned by the caller's event loop (when that loop is one of the
///   group's), so a request chained on its loop never hops threads to reach Redis.
/// - Commands never queue for a connection: a command finds a ready connection or fails at once
///   with ``RedisClientError/unavailable``. Connections are opened when the client is made, and a
///   lost one is reopened by a timer (at once after a working connection closes, then with
///   exponential backoff capped at ``Configuration/backoffCap``) whether or not commands arrive.
/// - Each command has a timeout; a timed-out connection is closed and replaced.
///
/// ```swift
/// let redis = try RedisClient(url: RedisURL("redis://127.0.0.1:6379"), eventLoopGroup: group)
/// redis.send(["INCR", "hits"], on: context.eventLoop).map { $0.int ?? 0 }
/// ```
public final class RedisClient: Sendable {
    public struct Configuration: Sendable {
        public var url: RedisURL
        /// How long a command waits for its answer (then ``RedisClientError/timeout``).
        public var commandTimeout: TimeAmount = .milliseconds(250)
        /// How long a TCP (and TLS) connect may take.
        public var connectTimeout: TimeAmount = .seconds(1)
        /// Connections per event loop; commands are spread round-robin over the ready ones.
        public var connectionsPerLoop: Int = 1
        /// First delay before reconnecting after a failed connect; doubles per failure up to the cap.
        public var backoffBase: TimeAmount = .milliseconds(50)
        public var backoffCap: TimeAmount = .seconds(2)
        /// Commands in flight per connection; beyond it a command fails with `.unavailable` (not
        /// sent), so a slow Redis cannot make the gateway hold an unbounded backlog.
        public var maxInFlightPerConnection: Int = 10_000
        /// The largest reply accepted; a larger one is a protocol error that closes the connection.
        public var maxReplyBytes: Int = 64 << 20
        /// TLS settings for `rediss://` (default: the system's trust roots, host name verified).
        public var tls: TLSConfiguration?

        public init(url: RedisURL) {
            self.url = url
        }
    }

    public let configuration: Configuration
    public let eventLoopGroup: any EventLoopGroup
    private let pools: [ObjectIdentifier: RedisLoopPool]
    private let poolList: [RedisLoopPool]

    /// Makes the client and starts connecting on every event loop of the group.
    /// Throws when `rediss://` is asked for and the TLS settings cannot be loaded.
    public init(configuration: Configuration, eventLoopGroup: any EventLoopGroup,
                logger: Logger = Logger(label: "switchboard.redis")) throws {
        precondition(configuration.connectionsPerLoop >= 1, "connectionsPerLoop must be at least 1")
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        let tls: NIOSSLContext? = configuration.url.tls
            ? try NIOSSLContext(configuration: configuration.tls ?? TLSConfiguration.makeClientConfiguration())
            : nil
        var pools: [ObjectIdentifier: RedisLoopPool] = [:]
        var list: [RedisLoopPool] = []
        for loop in eventLoopGroup.makeIterator() {
            let pool = RedisLoopPool(loop: loop, configuration: configuration, tls: tls, logger: logger)
            pools[ObjectIdentifier(loop)] = pool
            list.append(pool)
        }
        self.pools = pools
        self.poolList = list
        for pool in list { pool.loop.execute { pool.start() } }
    }

    public convenience init(url: RedisURL, eventLoopGroup: any EventLoopGroup,
                            logger: Logger = Logger(label: "switchboard.redis")) throws {
        try self.init(configuration: Configuration(url: url), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Sends one command and returns its answer on `loop` (default: the current event loop when it
    /// is one of the group's, else the group's next).
    ///
    /// An error reply fails the future with ``RedisClientError/server(_:)``.
    /// - Parameter timeout: this command's timeout instead of the configured one.
    public func send(_ command: [RESPArgument], on loop: (any EventLoop)? = nil,
                     timeout: TimeAmount? = nil) -> EventLoopFuture<RESPValue> {
        let (pool, target) = pool(for: loop)
        let deadline = NIODeadline.now() + (timeout ?? configuration.commandTimeout)
        let answer: EventLoopFuture<RESPValue>
        if pool.loop.inEventLoop {
            answer = pool.send(command, deadline: deadline)
        } else {
            answer = pool.loop.flatSubmit { pool.send(command, deadline: deadline) }
        }
        return target === pool.loop ? answer : answer.hop(to: target)
    }

    /// The same as ``send(_:on:timeout:)``, awaited.
    public func send(_ command: [RESPArgument], timeout: TimeAmount? = nil) async throws -> RESPValue {
        try await send(command, on: nil, timeout: timeout).get()
    }

    /// Succeeds when every event loop has a ready connection; a loop without one waits for its
    /// next connect attempt (at most one backoff away) and fails with that attempt's error (e.g.
    /// `.server("WRONGPASS …")`, or the connect error). For startup checks and tests: commands
    /// never wait for a connection.
    public func waitUntilConnected() -> EventLoopFuture<Void> {
        let loop = eventLoopGroup.any()
        let each = poolList.map { pool in pool.loop.flatSubmit { pool.whenReady() } }
        return EventLoopFuture.andAllSucceed(each, on: loop)
    }

    public func waitUntilConnected() async throws {
        try await waitUntilConnected().get()
    }

    /// Closes every connection and stops reconnecting; later commands fail with `.unavailable`.
    public func shutdown() -> EventLoopFuture<Void> {
        let each = poolList.map { pool in pool.loop.submit { pool.shutdown() } }
        return EventLoopFuture.andAllSucceed(each, on: eventLoopGroup.any())
    }

    public func shutdown() async throws {
        try await shutdown().get()
    }

    private func pool(for loop: (any EventLoop)?) -> (RedisLoopPool, any EventLoop) {
        if let loop {
            if let pool = pools[ObjectIdentifier(loop)] { return (pool, loop) }
            return (poolList[Int.random(in: 0..<poolList.count)], loop)
        }
        if let current = MultiThreadedEventLoopGroup.currentEventLoop, let pool = pools[ObjectIdentifier(current)] {
            return (pool, current)
        }
        let pool = poolList[Int.random(in: 0..<poolList.count)]
        return (pool, pool.loop)
    }
}

/// The connections of one event loop. Touched only on that loop.
final class RedisLoopPool: @unchecked Sendable {
    private enum Slot {
        case connecting
        case ready(RedisConnection)
        /// Waiting `attempt`'s backoff before the next connect.
        case backingOff(attempt: Int, timer: Scheduled<Void>)
        case shutDown
    }

    let loop: any EventLoop
    private let configuration: RedisClient.Configuration
    private let tls: NIOSSLContext?
    private let logger: Logger
    private var slots: [Slot]
    private var nextSlot = 0
    private var readyWaiters: [EventLoopPromise<Void>] = []
    private var isShutDown = false
    /// Whether the last connect worked (so a run of failures is logged once, not per attempt).
    private var wasConnected = true

    init(loop: any EventLoop, configuration: RedisClient.Configuration, tls: NIOSSLContext?, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.tls = tls
        self.logger = logger
        self.slots = Array(repeating: .connecting, count: configuration.connectionsPerLoop)
    }

    func start() {
        for index in slots.indices { connect(index, attempt: 0) }
    }

    func send(_ command: [RESPArgument], deadline: NIODeadline) -> EventLoopFuture<RESPValue> {
        for _ in 0..<slots.count {
            let index = nextSlot
            nextSlot = nextSlot + 1 == slots.count ? 0 : nextSlot + 1
            if case .ready(let connection) = slots[index], connection.isUsable,
               connection.inFlight < configuration.maxInFlightPerConnection {
                return connection.send(RESPEncoder.encode(command, allocator: connection.channel.allocator), deadline: deadline)
            }
        }
        return loop.makeFailedFuture(RedisClientError.unavailable)
    }

    func whenReady() -> EventLoopFuture<Void> {
        for slot in slots {
            if case .ready(let connection) = slot, connection.isUsable { return loop.makeSucceededVoidFuture() }
        }
        if isShutDown { return loop.makeFailedFuture(RedisClientError.unavailable) }
        // Completed by the next connect attempt to finish: at most one backoff from now.
        let promise = loop.makePromise(of: Void.self)
        readyWaiters.append(promise)
        return promise.futureResult
    }

    func shutdown() {
        isShutDown = true
        for (index, slot) in slots.enumerated() {
            switch slot {
            case .ready(let connection): connection.close()
            case .backingOff(_, let timer): timer.cancel()
            case .connecting, .shutDown: break
            }
            slots[index] = .shutDown
        }
        let waiters = readyWaiters
        readyWaiters = []
        for waiter in waiters { waiter.fail(RedisClientError.unavailable) }
    }

    private func connect(_ index: Int, attempt: Int) {
        guard !isShutDown else { return }
        slots[index] = .connecting
        let pool = NIOLoopBound(self, eventLoop: loop)
        RedisConnection.connect(to: configuration.url, tls: tls, on: loop,
                                connectTimeout: configuration.connectTimeout,
                                commandTimeout: configuration.commandTimeout,
                                maxReplyBytes: configuration.maxReplyBytes).whenComplete { result in
            pool.value.connected(index, attempt: attempt, result: result)
        }
    }

    private func connected(_ index: Int, attempt: Int, result: Result<RedisConnection, any Error>) {
        switch result {
        case .success(let connection):
            guard !isShutDown else {
                connection.close()
                return
            }
            slots[index] = .ready(connection)
            if !wasConnected {
                logger.info("Redis connection restored", metadata: ["redis": "\(configuration.url)"])
                wasConnected = true
            }
            let pool = NIOLoopBound(self, eventLoop: loop)
            connection.closeFuture.whenComplete { _ in pool.value.closed(index, connection) }
            let waiters = readyWaiters
            readyWaiters = []
            for waiter in waiters { waiter.succeed() }
        case .failure(let error):
            if wasConnected {
                logger.warning("Redis connect failed; retrying with backoff",
                               metadata: ["redis": "\(configuration.url)", "error": "\(error)"])
                wasConnected = false
            }
            guard !isShutDown else { return }
            let delay = backoff(attempt)
            let pool = NIOLoopBound(self, eventLoop: loop)
            let timer = loop.scheduleTask(in: delay) { pool.value.connect(index, attempt: attempt + 1) }
            slots[index] = .backingOff(attempt: attempt, timer: timer)
            let waiters = readyWaiters
            readyWaiters = []
            for waiter in waiters { waiter.fail(error) }
        }
    }

    /// A working connection closed (timeout, Redis gone, protocol error): reconnect at once; a
    /// failing reconnect then backs off.
    private func closed(_ index: Int, _ connection: RedisConnection) {
        guard !isShutDown, case .ready(let current) = slots[index], current === connection else { return }
        connect(index, attempt: 0)
    }

    func backoff(_ attempt: Int) -> TimeAmount {
        Self.backoff(attempt: attempt, base: configuration.backoffBase, cap: configuration.backoffCap)
    }

    /// base × 2^attempt, capped, with up to 25 % taken off at random so loops do not reconnect in step.
    /// Doubled step by step up to the cap: `base << attempt` overflowed after ~30 failed attempts
    /// (a minute of Redis down at a 2 s cap) into a negative delay and a crash.
    static func backoff(attempt: Int, base: TimeAmount, cap: TimeAmount) -> TimeAmount {
        let cap = max(cap.nanoseconds, 0)
        var delay = min(max(base.nanoseconds, 0), cap)
        var doublings = 0
        while doublings < attempt, delay < cap {
            delay = delay > cap / 2 ? cap : delay * 2
            doublings += 1
        }
        return .nanoseconds(delay - Int64.random(in: 0...(delay / 4)))
    }
}
