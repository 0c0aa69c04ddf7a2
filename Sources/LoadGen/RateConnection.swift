import NIOCore
import NIOHTTP1

/// One keep-alive connection of the `rate` pool: sends a request when the runner hands it one,
/// reads the whole response, and hands itself back.
///
/// Why the runner owns all decisions: the connection only knows the scheduled time of its
/// current request; queueing, reuse and timeouts live in `RateRunner`, in one place.
final class RateConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let runner: RateRunner
    private let request: RequestTemplate
    private var context: ChannelHandlerContext?
    /// The scheduled time of the request in flight, if any.
    private(set) var inFlight: UInt64?
    private var status: HTTPResponseStatus = .ok
    private var keepAlive = true
    private var lastError: String?

    init(runner: RateRunner, request: RequestTemplate) {
        self.runner = runner
        self.request = request
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func send(scheduledAt: UInt64) {
        guard let context else {
            // Not in a pipeline (cannot happen once connected); never drop a request silently.
            runner.connectionClosed(self, inFlight: scheduledAt, reason: "connection not ready")
            return
        }
        inFlight = scheduledAt
        request.write(to: context, wrap: wrapOutboundOut)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            keepAlive = head.isKeepAlive
        case .body:
            break  // read and dropped; only completion time matters
        case .end:
            guard let scheduledAt = inFlight else { return }
            inFlight = nil
            runner.responseEnded(self, scheduledAt: scheduledAt, status: status, keepAlive: keepAlive)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let pending = inFlight
        inFlight = nil
        runner.connectionClosed(
            self, inFlight: pending, reason: lastError ?? "connection closed before the response ended")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = describe(error)
        context.close(promise: nil)
    }

    /// Gives up on the request in flight (the runner already counted it) and drops the connection.
    func abandon() {
        inFlight = nil
        close()
    }

    func close() {
        context?.close(promise: nil)
    }
}
