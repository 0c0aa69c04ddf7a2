import GatewayCore
import Logging
import NIOCore
import NIOHTTP1

/// One browser watching the console's feed: its place in the feed and its heartbeat. Touched only
/// on the connection's event loop.
final class ConsoleFeedStream {
    let subscription: ConsoleFeed.Subscription
    var heartbeat: RepeatedTask?
    /// Heartbeats in a row that found the client not reading.
    var stalledBeats = 0

    init(subscription: ConsoleFeed.Subscription) {
        self.subscription = subscription
    }
}

/// `GET /console/feed`: a long-lived event stream, written on the connection's event loop in the
/// same chunked framing as the gateway's streams.
///
/// Each finished request waits in this subscriber's bounded queue in the ``ConsoleFeed``; the feed
/// wakes the connection once per batch, and the connection writes the batch as one chunk — only
/// while the channel is writable. A browser that does not read leaves its events in the queue,
/// which drops what does not fit and counts it; the next write starts with `event: dropped`
/// carrying that count. Requests never wait for a watcher.
///
/// Events: `event: hello` (once, when subscribed), `event: request` (one per finished request: the
/// JSON of its log line without bodies), `event: dropped` (`{"count":n}`), `event: end` (the
/// gateway is shutting down), and a `: keep-alive` comment every ``heartbeatInterval``.
extension GatewayConnectionHandler {
    /// Often enough that proxies (nginx's default read timeout is 60 s) keep the stream open.
    static let heartbeatInterval = TimeAmount.seconds(15)
    /// Heartbeats that found the client reading nothing before the connection is closed.
    static let stalledBeatsLimit = 4
    /// The feed connection's `SO_SNDBUF`.
    static let sendBufferBytes: SocketOptionValue = 32 * 1024

    func startFeed(context: ChannelHandlerContext) {
        guard let console = shared.console else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "cache-control", value: "no-store")
        headers.add(name: "x-accel-buffering", value: "no")  // nginx: do not buffer the stream
        // A small kernel send buffer (no autotuning up to megabytes): what a watcher holds in the
        // kernel stays small, and writability follows what the browser really reads.
        context.channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: Self.sendBufferBytes).whenComplete { _ in }
        startStream(status: 200, headers: headers)
        let loop = context.eventLoop
        let this = NIOLoopBound(self, eventLoop: loop)
        let subscription = console.feed.subscribe { loop.execute { this.value.drainFeed() } }
        let stream = ConsoleFeedStream(subscription: subscription)
        stream.heartbeat = loop.scheduleRepeatedTask(initialDelay: Self.heartbeatInterval, delay: Self.heartbeatInterval) { _ in
            this.value.feedHeartbeat()
        }
        feed = stream
        writeStreamChunk(ByteBuffer(string:
            "retry: 3000\nevent: hello\ndata: {\"subscribers\":\(console.feed.subscriberCount),\"capacity\":\(ConsoleFeed.defaultCapacity)}\n\n"))
    }

    /// Writes the events waiting for this subscriber, when the client can take them.
    func drainFeed() {
        guard let context, let feed, streaming, context.channel.isWritable else { return }
        let batch = feed.subscription.take()
        guard !batch.events.isEmpty || batch.dropped > 0 else { return }
        var out = context.channel.allocator.buffer(capacity: batch.events.reduce(32) { $0 + $1.count + 24 })
        if batch.dropped > 0 {
            out.writeString("event: dropped\ndata: {\"count\":\(batch.dropped)}\n\n")
        }
        for event in batch.events {
            out.writeStaticString("event: request\ndata: ")
            out.writeBytes(event)  // one JSON line, ending with its newline
            if event.last != UInt8(ascii: "\n") { out.writeStaticString("\n") }
            out.writeStaticString("\n")
        }
        writeStreamChunk(out)
    }

    func feedHeartbeat() {
        guard let context, let feed else { return }
        guard context.channel.isWritable else {
            feed.stalledBeats += 1
            if feed.stalledBeats >= Self.stalledBeatsLimit {
                shared.logger.debug("closing a console feed whose client reads nothing")
                context.close(promise: nil)
            }
            return
        }
        feed.stalledBeats = 0
        writeStreamChunk(ByteBuffer(string: ": keep-alive\n\n"))
        drainFeed()
    }

    /// Leaves the feed (the connection closed or the feed ended).
    func stopFeed() {
        guard let feed else { return }
        feed.heartbeat?.cancel()
        feed.subscription.cancel()
        self.feed = nil
    }

    /// Ends the feed with an `end` event and closes the connection (graceful shutdown).
    func endFeed(reason: String) {
        stopFeed()
        endStream(with: ByteBuffer(string: "event: end\ndata: {\"reason\":\(JSONText.quote(reason))}\n\n"))
    }
}
