import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Answers a connection over `max_connections`: a 503 `too_many_connections` in the gateway's JSON
/// error shape, written as raw bytes (no HTTP parsing for a connection we will not serve), then the
/// connection is closed.
///
/// Why half-close first: closing a socket that still holds an unread request makes the kernel send
/// a reset, and a client may then see "connection reset" instead of the 503. So the write side is
/// shut after the answer, what the client sends is read and dropped, and the connection is closed
/// when the client closes its side or after `linger`, whichever comes first.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let body = #"{"error":{"message":"the gateway is at its connection limit (max_connections); retry later","type":"server_error","param":null,"code":"too_many_connections"}}"#
    static let response = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
        + "content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n" + body
    static let linger = TimeAmount.seconds(2)

    private var closer: Scheduled<Void>?

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: Self.response))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        closer = context.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}  // dropped

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closer?.cancel()
        closer = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// One warning per burst of refusals rather than one per connection (an attack would flood the log).
final class RefusalLog: Sendable {
    private let logger: Logger
    private let last = NIOLockedValueBox<(at: NIODeadline, count: Int)>((.distantPast, 0))

    init(logger: Logger) { self.logger = logger }

    func refused(limit: Int) {
        let now = NIODeadline.now()
        let report: Int? = last.withLockedValue { state in
            state.count += 1
            guard now - state.at >= .seconds(10) else { return nil }
            defer { state = (now, 0) }
            return state.count
        }
        if let report {
            logger.warning("refusing client connections: max_connections reached",
                           metadata: ["max_connections": "\(limit)", "refused_since_last_warning": "\(report)"])
        }
    }
}
