import Testing
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
@testable import GatewayCore

/// The realtime proxy's relay (two in-memory channels joined by a RealtimeSession), its close
/// codes, and the upstream handshake's head.
@Suite struct RealtimeRelayTests {
    /// Counts the reads that reach the channel, to see back-pressure hold them.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    struct Pair {
        let client: EmbeddedChannel
        let upstream: EmbeddedChannel
        let clientReads: ReadCounter
        let upstreamReads: ReadCounter
        let session: RealtimeSession
        let ended: Box
    }

    final class Box { var summary: RealtimeSession.Summary? }

    // Frames written by the relay are as the encoder gets them: `data` unmasked, `maskKey` for
    // the encoder to apply (towards the upstream).

    func makePair() throws -> Pair {
        let loop = EmbeddedEventLoop()
        let client = EmbeddedChannel(loop: loop)
        let upstream = EmbeddedChannel(loop: loop)
        let clientReads = ReadCounter(), upstreamReads = ReadCounter()
        let clientRelay = RealtimeRelayHandler(side: .client), upstreamRelay = RealtimeRelayHandler(side: .upstream)
        try client.pipeline.syncOperations.addHandlers([clientReads, clientRelay])
        try upstream.pipeline.syncOperations.addHandlers([upstreamReads, upstreamRelay])
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        let box = Box()
        let session = RealtimeSession(provider: "openai", client: clientRelay, upstream: upstreamRelay) { box.summary = $0 }
        return Pair(client: client, upstream: upstream, clientReads: clientReads, upstreamReads: upstreamReads, session: session, ended: box)
    }

    func text(_ string: String, mask: Bool = false) -> WebSocketFrame {
        let data = ByteBuffer(string: string)
        guard mask else { return WebSocketFrame(fin: true, opcode: .text, data: data) }
        let key = WebSocketMaskingKey.random()
        var masked = data
        masked.webSocketMask(key)
        return WebSocketFrame(fin: true, opcode: .text, maskKey: key, data: masked)
    }

    func close(_ code: UInt16, _ reason: String) -> WebSocketFrame {
        var data = ByteBuffer()
        data.writeInteger(code)
        data.writeString(reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
    }

    @Test func framesGoAcrossMaskedTowardsTheUpstreamOnly() throws {
        let pair = try makePair()
        // The upstream's first event arrives before the client's half is attached: held, then delivered.
        try pair.upstream.writeInbound(text(#"{"type":"session.created"}"#))
        #expect(try pair.client.readOutbound(as: WebSocketFrame.self) == nil)
        pair.session.start()
        let first = try #require(try pair.client.readOutbound(as: WebSocketFrame.self))
        #expect(String(buffer: first.unmaskedData) == #"{"type":"session.created"}"# && first.maskKey == nil)

        try pair.client.writeInbound(text(#"{"type":"response.create"}"#, mask: true))
        pair.client.pipeline.fireChannelReadComplete()
        let up = try #require(try pair.upstream.readOutbound(as: WebSocketFrame.self))
        #expect(up.maskKey != nil && up.opcode == .text)
        #expect(String(buffer: up.data) == #"{"type":"response.create"}"#)  // the encoder masks it on the way out

        try pair.upstream.writeInbound(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "p")))
        pair.upstream.pipeline.fireChannelReadComplete()
        #expect(try pair.client.readOutbound(as: WebSocketFrame.self)?.opcode == .ping)
        #expect(pair.session.summary.framesToClient == 2 && pair.session.summary.framesToUpstream == 1)
    }

    @Test func aClientCloseIsForwardedWithItsCodeAndAnsweredBack() throws {
        let pair = try makePair()
        pair.session.start()
        try pair.client.writeInbound(close(4002, "done here"))
        let forwarded = try #require(try pair.upstream.readOutbound(as: WebSocketFrame.self))
        #expect(forwarded.opcode == .connectionClose)
        let parsed = RealtimeClose.parse(forwarded.data)
        #expect(parsed.code == 4002 && parsed.reason == "done here")
        // The upstream answers; its close reaches the client and both channels close.
        try pair.upstream.writeInbound(close(4002, "done here"))
        let answered = try #require(try pair.client.readOutbound(as: WebSocketFrame.self))
        #expect(RealtimeClose.parse(answered.unmaskedData).code == 4002)
        pair.client.embeddedEventLoop.run()
        #expect(!pair.client.isActive && !pair.upstream.isActive)
        #expect(pair.ended.summary?.outcome == "client_closed" && pair.ended.summary?.closeCode == 4002)
    }

    @Test func theUpstreamDroppingGivesTheClient1011NamingTheProvider() throws {
        let pair = try makePair()
        pair.session.start()
        pair.upstream.pipeline.fireChannelInactive()
        let frame = try #require(try pair.client.readOutbound(as: WebSocketFrame.self))
        let parsed = RealtimeClose.parse(frame.unmaskedData)
        #expect(parsed.code == 1011 && parsed.reason == "upstream connection lost (provider 'openai')")
        #expect(pair.session.summary.outcome == "upstream_lost")
    }

    @Test func theClientDroppingGivesTheUpstream1001() throws {
        let pair = try makePair()
        pair.session.start()
        pair.client.pipeline.fireChannelInactive()
        let frame = try #require(try pair.upstream.readOutbound(as: WebSocketFrame.self))
        #expect(frame.maskKey != nil)
        let parsed = RealtimeClose.parse(frame.data)
        #expect(parsed.code == 1001 && parsed.reason == "client went away")
    }

    @Test func shutdownSends1001BothWays() throws {
        let pair = try makePair()
        pair.session.start()
        pair.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        for channel in [pair.client, pair.upstream] {
            let frame = try #require(try channel.readOutbound(as: WebSocketFrame.self))
            #expect(RealtimeClose.parse(frame.data).code == 1001)
        }
        #expect(pair.session.summary.outcome == "shutdown")
    }

    @Test func aSideReadsOnlyWhileTheOtherIsWritable() throws {
        let pair = try makePair()
        pair.session.start()
        let before = pair.clientReads.reads
        pair.upstream.isWritable = false
        pair.client.read()
        #expect(pair.clientReads.reads == before)  // held: the upstream cannot take more
        pair.upstream.isWritable = true
        pair.upstream.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientReads.reads == before + 1)  // the held read goes out
        pair.client.read()
        #expect(pair.clientReads.reads == before + 2)
    }

    @Test func closePayloadsKeepTheCodeAndCutLongReasonsAtCharacters() {
        let long = String(repeating: "é", count: 100)  // 200 bytes
        let payload = RealtimeClose.payload(code: .goingAway, reason: long, allocator: ByteBufferAllocator())
        #expect(payload.readableBytes <= 125)
        let parsed = RealtimeClose.parse(payload)
        #expect(parsed.code == 1001 && parsed.reason == String(repeating: "é", count: 61))
        #expect(RealtimeClose.parse(ByteBuffer()).code == nil)
        #expect(WebSocketErrorCode.unexpectedServerError.wireCode == 1011)
    }

    @Test func theUpgradeRequestCarriesTheScriptsHeadersAndTheOffer() throws {
        let url = try #require(UpstreamURL(webSocket: "wss://api.openai.com/v1/realtime?model=gpt-realtime"))
        #expect(url.isTLS && url.port == 443 && url.target == "/v1/realtime?model=gpt-realtime")
        #expect(UpstreamURL(webSocket: "ws://127.0.0.1:9/openai/v1/realtime")?.isTLS == false)
        let request = UpstreamRequest(method: .GET, url: url,
                                      headers: ["authorization": "Bearer sk", "content-type": "application/json", "openai-beta": "realtime=v1"],
                                      body: nil)
        let head = RealtimeConnector.requestHead(request, subprotocols: "realtime")
        #expect(head.method == .GET && head.uri == "/v1/realtime?model=gpt-realtime")
        #expect(head.headers["host"] == ["api.openai.com"] && head.headers["authorization"] == ["Bearer sk"])
        #expect(head.headers["content-type"].isEmpty && head.headers["openai-beta"] == ["realtime=v1"])
        #expect(head.headers["sec-websocket-protocol"] == ["realtime"])
        let offered: HTTPHeaders = ["sec-websocket-protocol": "realtime, openai-insecure-api-key.sk-123"]
        #expect(Gateway.offeredSubprotocols(offered) == "realtime")
        #expect(Gateway.offeredSubprotocols(HTTPHeaders()) == nil)
    }
}
