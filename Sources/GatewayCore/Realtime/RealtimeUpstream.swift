public import NIOCore
import NIOConcurrencyHelpers
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// The upstream half of a `/v1/realtime` session: a WebSocket handshake with the URL and headers
/// the provider script built (NIO's client upgrader; TLS by NIOSSL for https/wss), on the client's
/// event loop, so that both halves of a session share one loop.
///
/// The handshake finishes before the client gets its 101: a refusal (401, 404, …) is read whole
/// (up to ``refusalBodyLimit``) and answered to the client as an HTTP error, as for any request.
enum RealtimeConnector {
    /// What the upstream said to the upgrade request.
    enum Outcome: Sendable {
        /// 101: the channel is a WebSocket now, its relay handler waiting for the client's half.
        case upgraded(RealtimeUpstreamLink)
        /// Any other answer, its head and body.
        case refused(UpstreamHead, ByteBuffer)
    }

    static let refusalBodyLimit = 64 * 1024

    /// The upgrade request's head: the script's headers (minus anything about a body), the Host,
    /// and the client's offered subprotocols.
    static func requestHead(_ request: UpstreamRequest, subprotocols: String?) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "host", value: request.url.hostHeader)
        for (name, value) in request.headers {
            let lower = name.asciiLowercased()
            if lower == "content-type" || lower == "content-length" || lower == "accept" || lower.hasPrefix("sec-websocket-") { continue }
            headers.add(name: name, value: value)
        }
        if let subprotocols, !subprotocols.isEmpty { headers.add(name: "sec-websocket-protocol", value: subprotocols) }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: request.url.target, headers: headers)
    }

    /// Connects and upgrades; fails with an ``UpstreamError`` when the upstream cannot be reached
    /// or breaks the handshake.
    static func connect(_ request: UpstreamRequest, subprotocols: String?, provider: String, maxFrameBytes: Int,
                        connectTimeout: TimeAmount, handshakeTimeout: TimeAmount, on loop: any EventLoop,
                        started: NIOLockedValueBox<(any Channel)?>) -> EventLoopFuture<Outcome> {
        let url = request.url
        let head = requestHead(request, subprotocols: subprotocols)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addUpstreamTransport(for: url, tls: UpstreamClient.tls)
                }
            }
        return bootstrap.connect(host: url.connectAddress ?? url.host, port: url.port)
            .flatMapErrorThrowing { error in throw connectError(error) }
            .flatMap { channel in
                started.withLockedValue { $0 = channel }
                let timeout = channel.eventLoop.scheduleTask(in: handshakeTimeout) { channel.close(promise: nil) }
                let upgraded = channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: pipeline(head: head, provider: provider, maxFrameBytes: maxFrameBytes))
                }.flatMap { $0 }
                return upgraded.flatMap { outcome -> EventLoopFuture<Outcome> in
                    guard case .refusing(let body) = outcome else {
                        guard case .upgraded(let link) = outcome else { preconditionFailure("unreachable") }
                        return channel.eventLoop.makeSucceededFuture(.upgraded(link))
                    }
                    return body.map { Outcome.refused($0.0, $0.1) }
                }.always { _ in timeout.cancel() }
                    .flatMapErrorThrowing { error in
                        channel.close(promise: nil)
                        if let error = error as? UpstreamError { throw error }
                        throw UpstreamError(.closed, "the WebSocket handshake failed (\(String("\(error)".prefix(200))))")
                    }
            }
    }

    /// What the typed upgrader produces: the upgraded link, or a refusal whose body is still coming.
    enum Step: Sendable {
        case upgraded(RealtimeUpstreamLink)
        case refusing(EventLoopFuture<(UpstreamHead, ByteBuffer)>)
    }

    static func pipeline(head: HTTPRequestHead, provider: String, maxFrameBytes: Int) -> NIOUpgradableHTTPClientPipelineConfiguration<Step> {
        let upgrader = NIOTypedWebSocketClientUpgrader<Step>(maxFrameSize: maxFrameBytes, enableAutomaticErrorHandling: true) {
            channel, response in
            channel.eventLoop.makeCompletedFuture {
                let relay = RealtimeRelayHandler(side: .upstream)
                try channel.pipeline.syncOperations.addHandler(relay)
                let chosen = response.headers.first(name: "sec-websocket-protocol")
                return .upgraded(RealtimeUpstreamLink(channel: channel, relay: NIOLoopBound(relay, eventLoop: channel.eventLoop),
                                                      subprotocol: chosen, provider: provider))
            }
        }
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Step>(upgradeRequestHead: head, upgraders: [upgrader]) { channel in
            channel.eventLoop.makeCompletedFuture {
                let collector = RefusalCollector(promise: channel.eventLoop.makePromise(), limit: refusalBodyLimit)
                try channel.pipeline.syncOperations.addHandler(collector)
                return .refusing(collector.promise.futureResult)
            }
        }
        var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        // Frames the upstream sends right behind its 101 (session.created) must reach the relay.
        configuration.leftOverBytesStrategy = .forwardBytes
        return configuration
    }

    static func connectError(_ error: any Error) -> UpstreamError {
        if let error = error as? UpstreamError { return error }
        if let refusal = AddressPolicyHandler.refusal(in: error) { return UpstreamError(.forbiddenAddress, refusal.description) }
        if error is ChannelError, case ChannelError.connectTimeout = error { return UpstreamError(.connectTimeout, "connection timed out") }
        let text = "\(error)"
        if text.contains("connectTimeout") { return UpstreamError(.connectTimeout, "connection timed out") }
        if text.contains("connectRefused") || text.contains("Connection refused") || text.contains("ECONNREFUSED") {
            return UpstreamError(.connect, "connection refused")
        }
        return UpstreamError(.connect, String(text.prefix(300)))
    }
}

/// Reads a refused upgrade's answer (head and body, bounded), then closes the connection.
final class RefusalCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<(UpstreamHead, ByteBuffer)>
    let limit: Int
    var head: HTTPResponseHead?
    var body = ByteBuffer()

    init(promise: EventLoopPromise<(UpstreamHead, ByteBuffer)>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
        case .body(var chunk):
            if body.readableBytes < limit { body.writeBuffer(&chunk) }
        case .end:
            complete(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(UpstreamError(.closed, "the upgrade answer could not be read (\(String("\(error)".prefix(200))))"))
        context.close(promise: nil)
    }

    private func complete(context: ChannelHandlerContext) {
        guard let head else {
            promise.fail(UpstreamError(.closed, "the connection closed before the upgrade answer"))
            return
        }
        promise.succeed((UpstreamHead(status: Int(truncatingIfNeeded: head.status.code), headers: head.headers), body))
        context.close(promise: nil)
    }
}

/// An upgraded upstream WebSocket waiting for its client: carried to the HTTP layer as a
/// response body (a stream that yields nothing), which joins it to the client's channel with
/// ``claim()``. Whoever gets it without claiming it (an iteration by a wrapper, a client gone)
/// closes the upstream (1001).
public final class RealtimeUpstreamLink: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    public let channel: any Channel
    let relay: NIOLoopBound<RealtimeRelayHandler>
    /// The subprotocol the upstream chose, for the client's 101.
    public let subprotocol: String?
    public let provider: String
    private let claimed = NIOLockedValueBox(false)

    init(channel: any Channel, relay: NIOLoopBound<RealtimeRelayHandler>, subprotocol: String?, provider: String) {
        self.channel = channel
        self.relay = relay
        self.subprotocol = subprotocol
        self.provider = provider
    }

    /// The upstream's relay handler, once: nil when the link was claimed or abandoned already.
    /// Call on the channel's event loop.
    public func claim() -> RealtimeRelayHandler? {
        let first = claimed.withLockedValue { claimed in
            defer { claimed = true }
            return !claimed
        }
        return first ? relay.value : nil
    }

    /// Closes the upstream (1001) unless the link was claimed.
    public func abandon() {
        let first = claimed.withLockedValue { claimed in
            defer { claimed = true }
            return !claimed
        }
        guard first else { return }
        let relay = self.relay
        channel.eventLoop.execute {
            relay.value.sendClose(code: RealtimeClose.clientGone.0, reason: RealtimeClose.clientGone.1)
            relay.value.closeChannel()
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let link: RealtimeUpstreamLink
        public mutating func next() async throws -> ByteBuffer? {
            link.abandon()
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(link: self) }
}

extension UpstreamURL {
    /// A provider's realtime URL: ws(s) or http(s) (https ≡ wss, http ≡ ws).
    init?(webSocket text: String) {
        if text.hasPrefix("wss://") {
            self.init("https://" + text.dropFirst(6))
        } else if text.hasPrefix("ws://") {
            self.init("http://" + text.dropFirst(5))
        } else {
            self.init(text)
        }
    }
}
