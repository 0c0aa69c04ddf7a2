import NIOCore
import NIOHTTP1

/// Everything the channel handler needs to send one response, decided up front.
///
/// Why: endpoints and fault controls are pure functions from request to `Reply`; all timing
/// (latency, pacing) and connection tricks (resets) are executed by `MockHTTPHandler`, which is
/// the only code that touches the channel.
struct Reply: Sendable {
    enum Body: Sendable {
        /// A complete body sent with `content-length`.
        case full(ByteBuffer)
        /// Already-framed chunks, each written and flushed on its own (SSE events, JSON-array pieces).
        case stream([ByteBuffer])
        /// Nothing at all: the connection is closed before any byte is sent.
        case none
    }

    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: Body
    /// Delay before the response head is sent.
    var latency: TimeAmount = .zero
    /// Pause between stream chunks.
    var interval: TimeAmount = .zero
    /// For streams: close after this many chunks. For full bodies: close after this many bytes.
    var cutAfter: Int?
    /// Close the connection once the response is complete.
    var closeAfter = false
    /// For streams: hold the last chunk back until a test releases this key (see `Holds`).
    var holdKey: String?

    init(status: HTTPResponseStatus, contentType: String, body: Body) {
        self.status = status
        self.headers = HTTPHeaders()
        self.headers.add(name: "content-type", value: contentType)
        self.body = body
        if case .stream = body {
            self.headers.add(name: "cache-control", value: "no-cache")
        }
    }

    /// A JSON reply with `content-type: application/json`.
    static func json(_ body: ByteBuffer, status: HTTPResponseStatus = .ok) -> Reply {
        Reply(status: status, contentType: "application/json", body: .full(body))
    }

    /// A server-sent-events reply.
    static func eventStream(_ events: [ByteBuffer]) -> Reply {
        Reply(status: .ok, contentType: "text/event-stream", body: .stream(events))
    }

    /// A connection drop with no response.
    static var dropConnection: Reply {
        Reply(status: .ok, contentType: "text/plain", body: .none)
    }
}
