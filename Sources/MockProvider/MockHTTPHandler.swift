import NIOCore
import NIOHTTP1

/// The per-connection HTTP handler: collects a request, asks `Router` for a `Reply`, and
/// carries it out on the event loop.
///
/// Why it looks like this: all waiting (latency, stream pacing) is done with
/// `scheduleTask`, never by blocking, and the pending task is cancelled when the client goes
/// away so an abandoned stream stops immediately. `HTTPServerPipelineHandler` (added by
/// `configureHTTPServerPipeline`) holds back pipelined requests until `.end` is written, so
/// this handler only ever has one exchange in flight.
final class MockHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies beyond this are answered with 413 instead of being buffered.
    static let maxBodyBytes = 64 * 1024 * 1024

    /// What the response needs to know about the request it answers.
    private struct Exchange {
        var version: HTTPVersion
        var keepAlive: Bool
    }

    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false
    private var isActive = true
    private var pending: Scheduled<Void>?
    /// Paces stream chunks for every stream of this channel's event loop (nil: a timer each).
    private let pacer: Pacer?
    /// Waiting on the pacer for the next chunk of a stream.
    private var pacing = false

    init(pacer: Pacer? = nil) {
        self.pacer = pacer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = nil
            self.bodyTooLarge = false
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case .body(var chunk):
            guard !bodyTooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maxBodyBytes {
                bodyTooLarge = true
                body = nil
            } else if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            let request = MockRequest(head: head, body: body ?? context.channel.allocator.buffer(capacity: 0))
            let tooLarge = bodyTooLarge
            self.head = nil
            self.body = nil
            self.bodyTooLarge = false
            let exchange = Exchange(version: head.version, keepAlive: head.isKeepAlive)
            let reply =
                tooLarge
                ? Dialect.openAI.reply(
                    for: APIError(status: .payloadTooLarge, message: "Request body too large."),
                    format: .dialect,
                    allocator: context.channel.allocator
                )
                : Router.reply(for: request, allocator: context.channel.allocator)
            start(reply, exchange, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if pending != nil || pacing { ProcessCounters.shared.countAbandoned() }  // closed while we still owed bytes
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stop()
        context.close(promise: nil)
    }

    /// The client is gone: cancel whatever was scheduled for it.
    private func stop() {
        isActive = false
        pacing = false  // the pacer's call for this stream finds it inactive and does nothing
        pending?.cancel()
        pending = nil
    }

    // MARK: - Sending

    private func start(_ reply: Reply, _ exchange: Exchange, context: ChannelHandlerContext) {
        guard reply.latency > .zero else {
            send(reply, exchange, context: context)
            return
        }
        pending = context.eventLoop.assumeIsolated().scheduleTask(in: reply.latency) {
            self.pending = nil
            self.send(reply, exchange, context: context)
        }
    }

    private func send(_ reply: Reply, _ exchange: Exchange, context: ChannelHandlerContext) {
        guard isActive else { return }
        var headers = reply.headers
        var exchange = exchange
        switch reply.body {
        case .none:
            context.close(promise: nil)
            return
        case .full(let body):
            headers.add(name: "content-length", value: String(body.readableBytes))
        case .stream:
            // HTTP/1.0 has no chunked encoding, so a stream there ends by closing.
            if exchange.version.minor == 0 { exchange.keepAlive = false }
        }
        if !exchange.keepAlive || reply.closeAfter {
            if exchange.version.minor >= 1 { headers.add(name: "connection", value: "close") }
        } else if exchange.version.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: exchange.version, status: reply.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)

        switch reply.body {
        case .none:
            return
        case .full(let body):
            if let cut = reply.cutAfter {
                let part = body.getSlice(at: body.readerIndex, length: min(cut, body.readableBytes))!
                closeAfterWriting(.body(.byteBuffer(part)), context: context)
            } else {
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                finish(reply, exchange, context: context)
            }
        case .stream(let chunks):
            context.flush()
            writeChunks(chunks, from: 0, reply, exchange, context: context)
        }
    }

    /// Writes stream chunks from `start`, each flushed on its own; with pacing it schedules itself
    /// for the next chunk instead of looping.
    private func writeChunks(
        _ chunks: [ByteBuffer],
        from start: Int,
        _ reply: Reply,
        _ exchange: Exchange,
        context: ChannelHandlerContext
    ) {
        var index = start
        while isActive {
            if let cut = reply.cutAfter, index >= cut {
                context.close(promise: nil)
                return
            }
            guard index < chunks.count else {
                finish(reply, exchange, context: context)
                return
            }
            if let key = reply.holdKey, index == chunks.count - 1, !Holds.mayProceed(key) {
                let next = index
                pending = context.eventLoop.assumeIsolated().scheduleTask(in: Holds.pollInterval) {
                    self.pending = nil
                    self.writeChunks(chunks, from: next, reply, exchange, context: context)
                }
                return
            }
            // Counted first, so a client that has the bytes never reads a smaller count.
            if let key = reply.holdKey { Holds.sent(key, bytes: chunks[index].readableBytes, last: index == chunks.count - 1) }
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunks[index]))), promise: nil)
            index += 1
            if reply.interval > .zero, index < chunks.count {
                let next = index
                if let pacer {
                    pacing = true
                    pacer.schedule(in: reply.interval) {
                        guard self.pacing else { return }
                        self.pacing = false
                        self.writeChunks(chunks, from: next, reply, exchange, context: context)
                    }
                } else {
                    pending = context.eventLoop.assumeIsolated().scheduleTask(in: reply.interval) {
                        self.pending = nil
                        self.writeChunks(chunks, from: next, reply, exchange, context: context)
                    }
                }
                return
            }
        }
    }

    /// Ends the response. Writing `.end` may synchronously deliver the next pipelined request,
    /// so nothing about the finished exchange is read from `self` afterwards.
    private func finish(_ reply: Reply, _ exchange: Exchange, context: ChannelHandlerContext) {
        if exchange.keepAlive, !reply.closeAfter {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            closeAfterWriting(.end(nil), context: context)
        }
    }

    private func closeAfterWriting(_ part: HTTPServerResponsePart, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(part)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
