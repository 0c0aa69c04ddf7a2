import NIOCore
import NIOHTTP1

/// The one request every connection sends, built once so per-request work is just three writes.
struct RequestTemplate: Sendable {
    let target: Target
    let head: HTTPRequestHead
    let body: ByteBuffer?

    /// - Parameters:
    ///   - closeConnection: adds `Connection: close` (streams mode: one request per connection).
    ///   - acceptEventStream: adds `Accept: text/event-stream` unless the user set `Accept`.
    init(
        target: Target,
        headers userHeaders: [(name: String, value: String)],
        body: [UInt8]?,
        closeConnection: Bool,
        acceptEventStream: Bool
    ) {
        var headers = HTTPHeaders()
        let userSet = Set(userHeaders.map { $0.name.lowercased() })
        if !userSet.contains("host") { headers.add(name: "Host", value: target.hostHeader) }
        if !userSet.contains("user-agent") { headers.add(name: "User-Agent", value: "Switchboard-LoadGen") }
        if acceptEventStream, !userSet.contains("accept") { headers.add(name: "Accept", value: "text/event-stream") }
        for header in userHeaders { headers.add(name: header.name, value: header.value) }
        headers.remove(name: "content-length")
        headers.remove(name: "connection")
        if let body { headers.add(name: "Content-Length", value: String(body.count)) }
        headers.add(name: "Connection", value: closeConnection ? "close" : "keep-alive")

        self.target = target
        self.head = HTTPRequestHead(
            version: .http1_1,
            method: body == nil ? .GET : .POST,
            uri: target.path,
            headers: headers
        )
        self.body = body.map { ByteBuffer(bytes: $0) }
    }

    /// Writes head, body and end, then flushes once.
    func write(
        to context: ChannelHandlerContext,
        wrap: (HTTPClientRequestPart) -> NIOAny
    ) {
        context.write(wrap(.head(head)), promise: nil)
        if let body { context.write(wrap(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrap(.end(nil)), promise: nil)
    }
}
