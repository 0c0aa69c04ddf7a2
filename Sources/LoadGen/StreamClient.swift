import NIOCore
import NIOHTTP1

/// One paced SSE stream: sends the request once on a fresh connection, times each event, and
/// reports exactly one outcome (success or the first error) to its `StreamRunner`.
///
/// Why per-event work is minimal: at 2,000 streams × 50 events/s this runs ~100k times a second
/// on one thread, so it scans bytes and appends integers; the events' JSON is never decoded.
final class StreamClient: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// How much of a non-200 or non-SSE body to quote in the error sample.
    private static let snippetBytes = 160

    private let runner: StreamRunner
    private let request: RequestTemplate
    private var context: ChannelHandlerContext?
    private var finished = false
    /// Cancelled when the stream ends; fires `timedOut()` otherwise.
    var timeout: Scheduled<Void>?

    private var sentAt: UInt64 = 0
    private var lastEventAt: UInt64 = 0
    private var events = 0
    private var stalls = 0
    private var scanner = SSEScanner()
    private var sawDone = false
    private var status: HTTPResponseStatus?
    /// Set when the response is not a 200 event stream: its error message, and for a non-200
    /// status the start of the body (the gateway's error text).
    private var rejection: String?
    private var snippet: ByteBuffer?
    private var wantsSnippet = false

    init(runner: StreamRunner, request: RequestTemplate) {
        self.runner = runner
        self.request = request
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        guard !finished else {
            context.close(promise: nil)
            return
        }
        request.write(to: context, wrap: wrapOutboundOut)
        sentAt = uptimeNow()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            let contentType = head.headers.first(name: "content-type") ?? "none"
            if head.status != .ok {
                rejection = "HTTP \(head.status.code)"
                wantsSnippet = true
            } else if !contentType.lowercased().hasPrefix("text/event-stream") {
                rejection = "HTTP 200 with content-type \(contentType), not text/event-stream"
            }
        case .body(let chunk):
            if rejection == nil {
                consume(chunk)
            } else if wantsSnippet {
                keepSnippet(chunk)
            }
        case .end:
            if let rejection {
                finish(error: rejection + snippetText, key: rejection)
            } else if sawDone {
                finish(error: nil)
            } else if scanner.isInsideEvent {
                finish(error: "stream ended inside an event (no closing blank line, \(eventCount))")
            } else {
                finish(error: "stream ended without data: [DONE] (\(eventCount))")
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let stage = status == nil ? "before the response head" : "mid-stream (\(eventCount))"
        finish(error: "connection closed \(stage)")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let stage = status == nil ? "before the response head" : "mid-stream (\(eventCount))"
        finish(error: "\(describe(error)) \(stage)")
    }

    /// The connection could not be opened.
    func connectFailed(_ error: any Error) {
        finish(error: "connect: \(describe(error))")
    }

    /// The stream's whole life exceeded `--timeout`.
    func timedOut() {
        timeout = nil
        let stage: String
        if context == nil || sentAt == 0 {
            stage = "still connecting"
        } else if status == nil {
            stage = "no response head"
        } else if events == 0 {
            stage = "no event"
        } else {
            stage = "mid-stream"
        }
        finish(error: "timeout (\(stage))")
    }

    // MARK: - Events

    private func consume(_ chunk: ByteBuffer) {
        let progress = scanner.scan(chunk)
        if progress.sawDone { sawDone = true }
        guard progress.events > 0 else { return }
        let now = uptimeNow()
        if events == 0 {
            runner.recordFirstEvent(after: now &- sentAt)
            // Events after the first in this same read arrived together: gaps of zero.
            for _ in 1..<progress.events { recordGap(0) }
        } else {
            recordGap(now &- lastEventAt)
            for _ in 1..<progress.events { recordGap(0) }
        }
        lastEventAt = now
        events += progress.events
    }

    @inline(__always)
    private func recordGap(_ nanoseconds: UInt64) {
        if runner.recordGap(nanoseconds) { stalls += 1 }
    }

    private func keepSnippet(_ chunk: ByteBuffer) {
        var chunk = chunk
        if snippet == nil { snippet = ByteBuffer() }
        let room = Self.snippetBytes - snippet!.readableBytes
        if room > 0, let part = chunk.readSlice(length: min(room, chunk.readableBytes)) {
            snippet!.writeImmutableBuffer(part)
        }
    }

    private var snippetText: String {
        guard let snippet, snippet.readableBytes > 0 else { return "" }
        let text = String(buffer: snippet).split(whereSeparator: \.isNewline).joined(separator: " ")
        return ": " + text
    }

    private var eventCount: String {
        events == 1 ? "after 1 event" : "after \(events) events"
    }

    // MARK: - End

    /// Reports the outcome once and closes the connection (the request asked for
    /// `Connection: close`, so there is nothing to reuse).
    private func finish(error: String?, key: String? = nil) {
        guard !finished else { return }
        finished = true
        timeout?.cancel()
        timeout = nil
        runner.streamFinished(events: events, stalls: stalls, error: error, errorKey: key)
        context?.close(promise: nil)
    }
}
