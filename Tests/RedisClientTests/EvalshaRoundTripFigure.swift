import Foundation
import NIOCore
import NIOPosix
import RedisClient
import Testing

/// The micro-figure for the notes: one EVALSHA of a rate-limit-sized script on loopback, sent one
/// at a time (each awaited before the next) and pipelined (all in flight on one connection).
/// It checks the results (the counter's total); it prints the timings and asserts none.
@Suite(.serialized, .enabled(if: RedisServer.executable != nil, "\(RedisServer.missing)"))
struct EvalshaRoundTripFigure {
    @Test func evalshaOneAtATimeAndPipelined() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        var configuration = RedisClient.Configuration(url: try RedisURL(server.url))
        configuration.commandTimeout = .seconds(10)
        let group = MultiThreadedEventLoopGroup.singleton
        let redis = try RedisClient(configuration: configuration, eventLoopGroup: group)
        try await redis.waitUntilConnected()
        // A fixed-window counter with its expiry, the shape of a per-minute limit.
        let script = RedisScript("""
            local n = redis.call('INCRBY', KEYS[1], ARGV[1])
            if n == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
            return n
            """)
        // REDIS_FIGURE_COUNT, when set, picks the number of calls.
        let count = ProcessInfo.processInfo.environment["REDIS_FIGURE_COUNT"].flatMap { Int($0) } ?? 2000
        let loop = group.any()
        _ = try await redis.evalsha(script, keys: ["warm"], args: [1, 60000], on: loop).get()

        let clock = ContinuousClock()
        let sequential = try await clock.measure {
            for _ in 0..<count {
                _ = try await redis.evalsha(script, keys: ["seq"], args: [1, 60000], on: loop).get()
            }
        }
        // One at a time from an EventLoopFuture chain on the loop (the gateway's path): each call
        // starts in the callback of the one before, with no Swift task between them.
        let chained = try await clock.measure {
            let done = loop.makePromise(of: Void.self)
            @Sendable func next(_ remaining: Int) {
                redis.evalsha(script, keys: ["chain"], args: [1, 60000], on: loop).whenComplete { result in
                    switch result {
                    case .failure(let error): done.fail(error)
                    case .success: remaining == 1 ? done.succeed() : next(remaining - 1)
                    }
                }
            }
            loop.execute { next(count) }
            try await done.futureResult.get()
        }
        let pipelined = try await clock.measure {
            let futures = try await loop.submit {
                (0..<count).map { _ in redis.evalsha(script, keys: ["pipe"], args: [1, 60000], on: loop) }
            }.get()
            for future in futures { _ = try await future.get() }
        }
        #expect(try await redis.send(["GET", "seq"]).int == count)
        #expect(try await redis.send(["GET", "chain"]).int == count)
        #expect(try await redis.send(["GET", "pipe"]).int == count)
        func perCall(_ duration: Duration) -> String {
            let micros = Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
            return String(Int((micros / Double(count)).rounded())) + " µs"
        }
        print("EVALSHA on loopback, \(count) calls: one at a time awaited from a task \(perCall(sequential)) per call; "
              + "one at a time chained on the event loop \(perCall(chained)) per call; "
              + "all in flight on one connection \(perCall(pipelined)) per call")
        try await redis.shutdown()
    }
}
