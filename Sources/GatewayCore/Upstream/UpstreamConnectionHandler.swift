import NIOCore
import NIOHTTP1

/// Drives one request/response exchange at a time on a pooled HTTP/1.1 connection.
///
/// Lives on its channel's event loop. A non-streaming response is collected here and handed over
/// in one promise completion; an event stream is handed over at its head and then fed chunk by
/// chunk into an ``UpstreamStream`` as bytes arrive. Reads are withheld (the outbound `read` is held
/// back) while that stream's consumer is behind, which is how a slow client slows the provider.
final class UpstreamConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The connection's response parser, told each request's method (see ``UpstreamResponseDecoder``).
    private let decoder: UpstreamResponseDecoder

    init(decoder: UpstreamResponseDecoder) {
        self.decoder = decoder
    }

    /// What the handler is doing for the current exchange.
    private enum State {
        case idle
        /// Request sent; waiting for the head.
        case awaitingHead(Exchange)
        /// Collecting a complete body (into `body`).
        case collecting(Exchange, UpstreamHead)
        /// Forwarding an event stream; `number` tells this stream from later ones on the connection.
        case streaming(UpstreamStream.Source, keepAlive: Bool, number: Int)
        /// Past a failure; the connection is closing.
        case closed
    }

    struct Exchange {
        var promise: EventLoopPromise<UpstreamResponse>
        /// Runs when the connection fails before any response byte on a reused connection, so the
        /// request can be retried on a fresh one (the server closed an idle keep-alive connection).
        var retry: (() -> Void)?
        var maxBodyBytes: Int
        var deadline: Scheduled<Void>?
        var keepAlive: Bool
        /// Relay a 2xx binary answer as it arrives (``UpstreamRequest/relaysBinary``).
        var relaysBinary = false
    }

    private var state: State = .idle
    /// The body being collected. Kept outside `state` so it is appended to in place: a buffer
    /// inside an enum case that is matched, copied out and put back may be shared with the enum's
    /// copy at the moment of the append, and then every append copies the whole body (quadratic:
    /// a 100 MB answer took a minute of CPU before it was refused).
    private var body = ByteBuffer()
    /// Streams started on this connection, to match the consumer's callbacks to their stream.
    private var streamCount = 0
    /// The consumer of the current stream is behind: hold reads back.
    private var paused = false
    private var readHeldBack = false
    /// Called with `true` when the exchange ended and the connection can be reused.
    var onExchangeEnd: ((Bool) -> Void)?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // The context refers back to this handler: keeping it would leak the handler, and through
        // `onExchangeEnd` its channel, for every connection ever closed.
        self.context = nil
        onExchangeEnd = nil
    }

    /// Sends a request; the promise completes with the response or an ``UpstreamError``.
    func start(_ request: UpstreamRequest, exchange: Exchange) {
        guard let context, case .idle = state else {
            exchange.promise.fail(UpstreamError(.closed, "connection not ready"))
            return
        }
        var exchange = exchange
        exchange.keepAlive = !(request.headers.first(name: "connection")?.lowercased() == "close")
        state = .awaitingHead(exchange)
        decoder.expectResponse(to: request.method)
        context.writeAndFlush(wrapOutboundOut(request.serialized(allocator: context.channel.allocator)), promise: nil)
    }

    /// Fails the current exchange (deadline passed) and closes the connection.
    func expire(_ error: UpstreamError) {
        fail(error, allowRetry: false)
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            guard case .awaitingHead(var exchange) = state else { return }
            exchange.retry = nil
            let head = UpstreamHead(status: Int(response.status.code), headers: response.headers)
            let keepAlive = exchange.keepAlive && response.isKeepAlive
            exchange.keepAlive = keepAlive
            let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
            // Server-sent events, or AWS's binary event stream (Bedrock's ConverseStream).
            let isEventStream = contentType.hasPrefix("text/event-stream")
                || contentType.hasPrefix("application/vnd.amazon.eventstream")
            // Audio and file contents are relayed as they arrive (speech is produced while it is
            // sent; a file can be larger than any answer the gateway holds).
            let isBinary = exchange.relaysBinary && !isEventStream
                && (contentType.utf8.starts(with: "audio/".utf8) || contentType.utf8.starts(with: "application/octet-stream".utf8))
            if (isEventStream || isBinary) && (200..<300).contains(head.status) {
                exchange.deadline?.cancel()
                streamCount += 1
                let number = streamCount
                let this = NIOLoopBound(self, eventLoop: context.eventLoop)
                let loop = context.eventLoop
                let delegate = UpstreamStreamDelegate(
                    resume: { loop.execute { this.value.resumeReading(stream: number) } },
                    terminated: { loop.execute { this.value.consumerStopped(stream: number) } })
                let produced = UpstreamStream.makeSequence(
                    backPressureStrategy: .init(lowWatermark: UpstreamStreamDelegate.lowWatermark,
                                                highWatermark: UpstreamStreamDelegate.highWatermark),
                    finishOnDeinit: true, delegate: delegate)
                let stream = produced.sequence
                state = .streaming(produced.source, keepAlive: keepAlive, number: number)
                exchange.promise.succeed(.stream(head, stream))
            } else {
                let length = response.headers.first(name: "content-length").flatMap { Int($0) }
                if let length, length > exchange.maxBodyBytes {
                    // Refused at once: no need to receive what cannot be accepted.
                    state = .collecting(exchange, head)
                    fail(UpstreamError(.tooLarge, "response larger than \(exchange.maxBodyBytes) bytes (content-length \(length))"),
                         allowRetry: false)
                    context.close(promise: nil)
                    return
                }
                body = context.channel.allocator.buffer(capacity: min(max(length ?? 1024, 0), exchange.maxBodyBytes))
                state = .collecting(exchange, head)
            }
        case .body(var chunk):
            switch state {
            case .collecting(let exchange, _):
                if body.readableBytes + chunk.readableBytes > exchange.maxBodyBytes {
                    fail(UpstreamError(.tooLarge, "response larger than \(exchange.maxBodyBytes) bytes"), allowRetry: false)
                    context.close(promise: nil)
                    return
                }
                body.writeBuffer(&chunk)
            case .streaming(let source, _, _):
                if source.yield(chunk) == .stopProducing { paused = true }
            default:
                break
            }
        case .end:
            switch state {
            case .collecting(let exchange, let head):
                exchange.deadline?.cancel()
                state = .idle
                let buffer = body
                body = ByteBuffer()  // the caller owns the only reference
                exchange.promise.succeed(.complete(head, buffer))
                finishExchange(context: context, reusable: exchange.keepAlive)
            case .streaming(let source, let keepAlive, _):
                state = .idle
                source.finish()
                resumeReading(stream: nil)  // the connection goes back to reading normally
                finishExchange(context: context, reusable: keepAlive)
            default:
                break
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    /// The consumer wants more (or the stream ended): read again. `stream` nil means whatever
    /// stream; a stale callback for an earlier stream is ignored.
    private func resumeReading(stream number: Int?) {
        if let number, case .streaming(_, _, let current) = state, current != number { return }
        paused = false
        if readHeldBack {
            readHeldBack = false
            context?.read()
        }
    }

    /// The consumer stopped before the stream ended (the client left): cancel the upstream request
    /// by closing the connection, unless the stream already ended and the connection moved on.
    private func consumerStopped(stream number: Int) {
        guard case .streaming(_, _, let current) = state, current == number else { return }
        state = .closed
        context?.close(promise: nil)
    }

    private func finishExchange(context: ChannelHandlerContext, reusable: Bool) {
        if reusable {
            onExchangeEnd?(true)
        } else {
            state = .closed
            onExchangeEnd?(false)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(UpstreamError(.closed, "the connection closed before the response was complete"), allowRetry: true)
        state = .closed
        onExchangeEnd?(false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let upstreamError = error as? UpstreamError ?? UpstreamError(.closed, "\(error)")
        fail(upstreamError, allowRetry: true)
        state = .closed
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if paused { return }  // silent because we stopped reading for a slow client, not the provider
            if case .idle = state {
                context.close(promise: nil)  // an idle pooled connection past its time
            } else {
                fail(UpstreamError(.readTimeout, "no data from the upstream within the read timeout"), allowRetry: false)
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func fail(_ error: UpstreamError, allowRetry: Bool) {
        switch state {
        case .awaitingHead(let exchange):
            exchange.deadline?.cancel()
            state = .closed
            if allowRetry, let retry = exchange.retry {
                retry()
            } else {
                exchange.promise.fail(error)
            }
        case .collecting(let exchange, _):
            exchange.deadline?.cancel()
            state = .closed
            body = ByteBuffer()  // release what was collected now, not when the handler goes
            exchange.promise.fail(error)
        case .streaming(let source, _, _):
            state = .closed
            source.finish(error)
        case .idle, .closed:
            break
        }
    }
}
