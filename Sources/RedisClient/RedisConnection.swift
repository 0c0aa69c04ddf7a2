import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to Redis: commands are written as they come (pipelined), answers matched to
/// them in order.
///
/// Each command has a deadline. When the oldest unanswered command passes its own, or any waiting
/// command passes its own (it cannot be answered before those ahead of it), every command in flight
/// fails with ``RedisClientError/timeout`` and the connection is closed: an answer arriving later
/// would be matched to the wrong command. One timer serves the whole queue (armed at the earliest
/// deadline), not one per command.
///
/// Touched only on its channel's event loop.
final class RedisConnection: @unchecked Sendable {
    let channel: any Channel
    private let handler: RedisConnectionHandler

    private init(channel: any Channel, handler: RedisConnectionHandler) {
        self.channel = channel
        self.handler = handler
    }

    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
    var isUsable: Bool { handler.failure == nil && channel.isActive }
    var inFlight: Int { handler.inFlight }

    /// Sends one encoded command; on the channel's event loop.
    func send(_ command: ByteBuffer, deadline: NIODeadline) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        handler.send(command, promise: promise, deadline: deadline)
        return promise.futureResult
    }

    func close() {
        handler.fail(with: .closed)
    }

    /// Connects, then authenticates and selects the database (pipelined, one round trip) when the
    /// URL asks for it. Fails with the server's error (e.g. WRONGPASS) or ``RedisClientError``.
    static func connect(to url: RedisURL, tls: NIOSSLContext?, on loop: any EventLoop,
                        connectTimeout: TimeAmount, commandTimeout: TimeAmount,
                        maxReplyBytes: Int) -> EventLoopFuture<RedisConnection> {
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if url.tls {
                        guard let tls else { throw RedisClientError.protocolError("TLS is unavailable") }
                        let isIP = url.host.contains(":") || url.host.allSatisfy { $0.isNumber || $0 == "." }
                        try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : url.host))
                    }
                    try sync.addHandler(RedisConnectionHandler(parser: RESPParser(maxReplyBytes: maxReplyBytes)))
                }
            }
        return bootstrap.connect(host: url.host, port: url.port).flatMap { channel in
            let handler: RedisConnectionHandler
            do {
                handler = try channel.pipeline.syncOperations.handler(type: RedisConnectionHandler.self)
            } catch {
                channel.close(promise: nil)
                return loop.makeFailedFuture(error)
            }
            let connection = RedisConnection(channel: channel, handler: handler)
            var setup: [EventLoopFuture<RESPValue>] = []
            let deadline = NIODeadline.now() + commandTimeout
            if let password = url.password {
                let auth: [RESPArgument] = url.user.map { ["AUTH", .string($0), .string(password)] } ?? ["AUTH", .string(password)]
                setup.append(connection.send(RESPEncoder.encode(auth, allocator: channel.allocator), deadline: deadline))
            }
            if url.database != 0 {
                setup.append(connection.send(RESPEncoder.encode(["SELECT", .integer(url.database)], allocator: channel.allocator), deadline: deadline))
            }
            guard !setup.isEmpty else { return loop.makeSucceededFuture(connection) }
            return EventLoopFuture.andAllSucceed(setup, on: loop).map { connection }.flatMapErrorThrowing { error in
                connection.close()
                throw error
            }
        }
    }
}

/// Holds the commands in flight and reads their answers.
final class RedisConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let promise: EventLoopPromise<RESPValue>
        let deadline: NIODeadline
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var parser: RESPParser
    private var received: ByteBuffer?
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    var inFlight: Int { pending.count }
    /// Set once the connection is finished with; every later command fails with it.
    private(set) var failure: RedisClientError?

    init(parser: RESPParser) {
        self.parser = parser
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(with: .closed)
        self.context = nil
    }

    func send(_ command: ByteBuffer, promise: EventLoopPromise<RESPValue>, deadline: NIODeadline) {
        guard failure == nil, let context else {
            promise.fail(failure ?? .closed)
            return
        }
        pending.append(Pending(promise: promise, deadline: deadline))
        if timerDeadline.map({ deadline < $0 }) ?? true {
            arm(at: deadline)
        }
        context.writeAndFlush(wrapOutboundOut(command), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeImmutableBuffer(bytes)
        }
        do {
            while var buffer = received {
                received = nil  // keeps `buffer` uniquely referenced while parsing
                let value = try parser.parse(&buffer)
                received = buffer
                guard let value else { break }
                guard let head = pending.popFirst() else {
                    fail(with: .protocolError("an answer with no command waiting for it"))
                    return
                }
                if case .error(let message) = value {
                    head.promise.fail(RedisClientError.server(message))
                } else {
                    head.promise.succeed(value)
                }
            }
        } catch {
            fail(with: .protocolError(error.message))
            return
        }
        if let buffer = received {
            if buffer.readableBytes == 0 {
                received = nil
            } else if buffer.readerIndex > 64 << 10 {
                received!.discardReadBytes()
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(with: .closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(with: .protocolError("\(error)"))
    }

    /// Fails every command in flight and closes the connection; later commands fail at once.
    func fail(with error: RedisClientError) {
        if failure == nil { failure = error }
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        let failed = pending
        pending.removeAll()
        for command in failed { command.promise.fail(error) }
        context?.close(promise: nil)
    }

    private func arm(at deadline: NIODeadline) {
        guard let context else { return }
        timer?.cancel()
        timerDeadline = deadline
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            loopBound.value.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = nil
        guard !pending.isEmpty else { return }
        let now = NIODeadline.now()
        var earliest = NIODeadline.distantFuture
        for command in pending {
            if command.deadline <= now {
                fail(with: .timeout)
                return
            }
            earliest = min(earliest, command.deadline)
        }
        arm(at: earliest)
    }
}
