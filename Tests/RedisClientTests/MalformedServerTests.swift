import NIOCore
import NIOPosix
import RedisClient
import Testing

/// A fake "Redis" on loopback that answers every read with fixed bytes: what it sends that is not
/// RESP2 fails the command with `.protocolError` and closes the connection; nothing crashes or hangs.
@Suite(.timeLimit(.minutes(1)))
struct MalformedServerTests {
    final class FixedAnswer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: String
        init(_ answer: String) { self.answer = answer }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
        }
    }

    @Test(arguments: [
        "!garbage\r\n",
        "$99999999999\r\n",  // a bulk string over the reply limit, refused before its body
        "+OK\r\n+OK\r\n",     // an answer with no command waiting for it
        String(repeating: "*1\r\n", count: 100) + ":1\r\n",  // nested past the depth limit
    ])
    func malformedAnswerFailsTheCommand(_ answer: String) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FixedAnswer(answer)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let redis = try RedisClient(url: RedisURL(host: "127.0.0.1", port: server.localAddress!.port!), eventLoopGroup: group)
        try await redis.waitUntilConnected()
        do {
            let reply = try await redis.send(["PING"])
            // "+OK\r\n+OK\r\n": the first answer is taken, the second one finds nothing waiting.
            #expect(answer == "+OK\r\n+OK\r\n" && reply == .simpleString("OK"), "\(reply)")
        } catch let error as RedisClientError {
            guard case .protocolError = error else {
                Issue.record("\(error)")
                return
            }
        }
        if answer == "+OK\r\n+OK\r\n" {
            // The extra answer closed that connection: the next command on it cannot be matched.
            var sawFailure = false
            for _ in 0..<50 {
                if (try? await redis.send(["PING"])) == nil { sawFailure = true; break }
            }
            #expect(sawFailure)
        }
        try await redis.shutdown()
        try await server.close()
    }
}
