public import NIOCore
public import NIOWebSocket

/// One side of a realtime session: the last handler of a WebSocket channel (after NIO's frame
/// encoder and decoder), which hands every frame it reads to the ``RealtimeSession`` and writes the
/// frames the session gives it.
///
/// Back-pressure: a side reads from its socket only while the other side's channel is writable
/// (its `read` is held otherwise and issued when the other side drains), so a slow reader slows
/// the sender through TCP instead of the gateway queueing frames.
public final class RealtimeRelayHandler: ChannelDuplexHandler {
    public typealias InboundIn = WebSocketFrame
    public typealias OutboundIn = WebSocketFrame
    public typealias OutboundOut = WebSocketFrame

    public let side: RealtimeSession.Side
    var context: ChannelHandlerContext?
    weak var session: RealtimeSession?
    /// Frames read before the session was attached (the upstream's first events can arrive in the
    /// same packet as its 101); handed over in order when it is.
    var early: [WebSocketFrame] = []
    /// The upstream side closed before the session was attached.
    var goneEarly = false
    /// A `read` waits for the other side to become writable (or for the session to attach).
    var readHeld = false
    var closeReceived = false
    var closeSent = false
    var closing = false
    /// The last write, so a close waits for what went before it.
    var lastWrite: EventLoopFuture<Void>?

    public init(side: RealtimeSession.Side) { self.side = side }

    public func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    public func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let session else {
            early.append(frame)
            return
        }
        session.received(frame, from: self)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        session?.other(of: self)?.flush()
        context.fireChannelReadComplete()
    }

    public func read(context: ChannelHandlerContext) {
        guard let session, let other = session.other(of: self), other.isWritable else {
            readHeld = true
            return
        }
        context.read()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let other = session?.other(of: self) { other.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if let session { session.gone(self) } else { goneEarly = true }
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // The gateway is shutting down (SIGTERM): both sides get 1001.
            session?.shutdown()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol error was answered by NIO's WebSocketProtocolErrorHandler (close 1002/1009);
        // anything else ends this side, and the other is told as for a lost connection.
        context.close(promise: nil)
    }

    // MARK: Used by the session (on the event loop)

    var isWritable: Bool { context?.channel.isWritable ?? false }
    var isActive: Bool { context?.channel.isActive ?? false }

    func startReading() {
        readHeld = false
        context?.read()
    }

    func resumeReading() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    /// Writes a frame as the other side sent it; towards the upstream (where the gateway is the
    /// client) frames are masked, as RFC 6455 requires of clients.
    func send(_ frame: WebSocketFrame) {
        guard let context, !closeSent else { return }
        let out = WebSocketFrame(fin: frame.fin, rsv1: frame.rsv1, rsv2: frame.rsv2, rsv3: frame.rsv3, opcode: frame.opcode,
                                 maskKey: side == .upstream ? .random() : nil, data: frame.unmaskedData)
        if frame.opcode == .connectionClose { closeSent = true }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(out), promise: promise)
        lastWrite = promise.futureResult
    }

    func sendClose(code: WebSocketErrorCode, reason: String) {
        guard let context else { return }
        send(WebSocketFrame(fin: true, opcode: .connectionClose, data: RealtimeClose.payload(code: code, reason: reason,
                                                                                               allocator: context.channel.allocator)))
        flush()
    }

    func flush() { context?.flush() }

    /// Closes the channel once what was written has gone out.
    func closeChannel() {
        guard !closing, let context else { return }
        closing = true
        context.flush()
        let channel = context.channel
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }
}

/// Close frames: the payload (code + reason) and the codes the proxy sends itself.
public enum RealtimeClose {
    /// RFC 6455 §5.5.1: two bytes of code, then at most 123 bytes of UTF-8 reason (control frames
    /// carry at most 125 bytes); a longer reason is cut at a character boundary.
    public static func payload(code: WebSocketErrorCode, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 2 + min(reason.utf8.count, 123))
        buffer.write(webSocketErrorCode: code)
        let utf8 = Array(reason.utf8)
        var end = min(utf8.count, 123)
        // Do not cut inside a multi-byte character: back up to the start of the one cut.
        while end < utf8.count, end > 0, utf8[end] & 0xC0 == 0x80 { end -= 1 }
        buffer.writeBytes(utf8[..<end])
        return buffer
    }

    /// The code and reason of a close frame's payload; nil code when it carries none (1005).
    public static func parse(_ data: ByteBuffer) -> (code: UInt16?, reason: String) {
        var data = data
        guard let code = data.readInteger(as: UInt16.self) else { return (nil, "") }
        return (code, data.readString(length: data.readableBytes) ?? "")
    }

    /// What the client is sent when the upstream connection drops without a close frame.
    public static func upstreamLost(provider: String) -> (WebSocketErrorCode, String) {
        (.unexpectedServerError, "upstream connection lost (provider '\(provider)')")
    }

    /// What the upstream is sent when the client's connection drops without a close frame.
    public static let clientGone: (WebSocketErrorCode, String) = (.goingAway, "client went away")
    /// What both sides are sent when the gateway shuts down.
    public static let shuttingDown: (WebSocketErrorCode, String) = (.goingAway, "the gateway is shutting down")
}

/// A realtime session: a client's WebSocket and its upstream's, joined on one event loop. Frames go
/// across as they come (text, binary, continuation, ping, pong), and close frames with their code
/// and reason; a side that drops without one gets the other a close of its own (1011 to the client
/// when the upstream is lost, 1001 to the upstream when the client is). Touched only on the loop.
public final class RealtimeSession {
    public enum Side: Sendable { case client, upstream }

    /// Frames and bytes each way, and how the session ended.
    public struct Summary: Sendable {
        public var framesToUpstream = 0
        public var bytesToUpstream = 0
        public var framesToClient = 0
        public var bytesToClient = 0
        /// `client_closed`, `upstream_closed`, `upstream_lost`, `client_lost` or `shutdown`.
        public var outcome = "open"
        /// The close code that ended the session (sent or forwarded), when there was one.
        public var closeCode: UInt16?
    }

    public let provider: String
    let client: RealtimeRelayHandler
    let upstream: RealtimeRelayHandler
    let closeGrace: TimeAmount
    let onFrame: (Side, Int) -> Void
    let onEnd: (Summary) -> Void
    public private(set) var summary = Summary()
    private var graceTimer: Scheduled<Void>?
    private var ended = false
    private var clientInactive = false
    private var upstreamInactive = false
    /// Keeps the session alive while its channels are (the handlers hold it weakly).
    private var retainSelf: RealtimeSession?

    /// - Parameters:
    ///   - onFrame: each relayed frame (the side it came from, its payload bytes), for the metrics.
    ///   - onEnd: once, when both channels have closed.
    public init(provider: String, client: RealtimeRelayHandler, upstream: RealtimeRelayHandler, closeGrace: TimeAmount = .seconds(5),
                onFrame: @escaping (Side, Int) -> Void = { _, _ in }, onEnd: @escaping (Summary) -> Void) {
        self.provider = provider
        self.client = client
        self.upstream = upstream
        self.closeGrace = closeGrace
        self.onFrame = onFrame
        self.onEnd = onEnd
    }

    /// Joins the two sides: what the upstream sent before this goes to the client first, then
    /// both sides read.
    public func start() {
        retainSelf = self
        client.session = self
        upstream.session = self
        let early = upstream.early
        upstream.early = []
        for frame in early { received(frame, from: upstream) }
        client.flush()
        if upstream.goneEarly || !upstream.isActive { gone(upstream) }
        if !client.isActive { gone(client) }
        // Both sides read from here on (the client's HTTP handler may have held its read while
        // the handshake ran, so a read is issued whether or not one was held).
        client.startReading()
        upstream.startReading()
    }

    func other(of handler: RealtimeRelayHandler) -> RealtimeRelayHandler? {
        handler === client ? upstream : handler === upstream ? client : nil
    }

    func received(_ frame: WebSocketFrame, from handler: RealtimeRelayHandler) {
        guard let other = other(of: handler) else { return }
        let bytes = frame.length
        if handler.side == .client {
            summary.framesToUpstream += 1
            summary.bytesToUpstream += bytes
        } else {
            summary.framesToClient += 1
            summary.bytesToClient += bytes
        }
        onFrame(handler.side, bytes)
        guard frame.opcode == .connectionClose else {
            other.send(frame)
            return
        }
        handler.closeReceived = true
        if summary.outcome == "open" {
            summary.outcome = handler.side == .client ? "client_closed" : "upstream_closed"
            summary.closeCode = RealtimeClose.parse(frame.unmaskedData).code
        }
        // Forward the close as it is (same code and reason); the other side's answer comes back
        // the same way and completes this side's closing handshake.
        if !other.closeSent {
            other.send(frame)
            other.flush()
        }
        settle()
    }

    /// Closes each side whose closing handshake is complete, and starts the grace period for the
    /// other to answer.
    private func settle() {
        for side in [client, upstream] where side.closeReceived && side.closeSent { side.closeChannel() }
        // A side that never answers our close (or never closes after its own) is closed after the grace period.
        if graceTimer == nil, let loop = client.context?.eventLoop ?? upstream.context?.eventLoop {
            graceTimer = loop.assumeIsolated().scheduleTask(in: closeGrace) { [weak self] in
                guard let self else { return }
                self.client.closeChannel()
                self.upstream.closeChannel()
            }
        }
    }

    /// A side's connection closed.
    func gone(_ handler: RealtimeRelayHandler) {
        if handler === client { clientInactive = true } else { upstreamInactive = true }
        guard let other = other(of: handler) else { return }
        if !handler.closeReceived && !other.closeSent {
            // Dropped without a close frame: the other side is told why.
            let (code, reason) = handler.side == .upstream ? RealtimeClose.upstreamLost(provider: provider) : RealtimeClose.clientGone
            if summary.outcome == "open" {
                summary.outcome = handler.side == .upstream ? "upstream_lost" : "client_lost"
                summary.closeCode = code.wireCode
            }
            other.sendClose(code: code, reason: reason)
        }
        // The other side may still answer our close (its closing handshake); if it is the one
        // that closed already, it is done.
        if other.closeReceived || !other.isActive { other.closeChannel() }
        settle()
        finishIfClosed()
    }

    /// Gateway shutdown: both sides get 1001 and close.
    public func shutdown() {
        if summary.outcome == "open" {
            summary.outcome = "shutdown"
            summary.closeCode = RealtimeClose.shuttingDown.0.wireCode
        }
        for side in [client, upstream] where !side.closeSent {
            side.sendClose(code: RealtimeClose.shuttingDown.0, reason: RealtimeClose.shuttingDown.1)
        }
        settle()
    }

    private func finishIfClosed() {
        guard clientInactive && upstreamInactive, !ended else { return }
        ended = true
        graceTimer?.cancel()
        graceTimer = nil
        onEnd(summary)
        retainSelf = nil
    }
}

extension WebSocketErrorCode {
    /// The number on the wire.
    public var wireCode: UInt16 {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: self)
        return buffer.readInteger(as: UInt16.self) ?? 0
    }
}
