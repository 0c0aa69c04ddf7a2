import NIOCore
import Testing
@testable import GatewayCore

/// The pure rules behind the client-connection limits (issue 12, item 7), and the bound on one
/// server-sent event (item 6).
@Suite struct ClientLimitsTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func headDeadline() {
        let limits = ClientLimits(headTimeout: .seconds(30))
        #expect(!limits.headExpired(started: start, now: start + .seconds(29)))
        #expect(limits.headExpired(started: start, now: start + .seconds(30)))
        #expect(!ClientLimits(headTimeout: nil).headExpired(started: start, now: start + .hours(1000)))
    }

    @Test func bodyMinimumRateAfterTheGrace() {
        let limits = ClientLimits(headTimeout: .seconds(2), bodyMinRate: 1000)
        #expect(limits.bodyGrace == .seconds(2))  // defaults to the head deadline
        // Within the grace anything goes, even nothing.
        #expect(!limits.bodyTooSlow(started: start, received: 0, now: start + .seconds(2)))
        // After it: 1000 bytes owed per second.
        #expect(limits.bodyTooSlow(started: start, received: 999, now: start + .seconds(3)))
        #expect(!limits.bodyTooSlow(started: start, received: 1000, now: start + .seconds(3)))
        #expect(limits.bodyTooSlow(started: start, received: 10, now: start + .seconds(12)))  // a drip
        #expect(!limits.bodyTooSlow(started: start, received: 10_000_000, now: start + .seconds(12)))
    }

    @Test func noMinimumAndExtremeValues() {
        #expect(!ClientLimits(bodyMinRate: 0).bodyTooSlow(started: start, received: 0, now: start + .hours(10_000)))
        let fast = ClientLimits(headTimeout: .seconds(1), bodyMinRate: 1 << 30)
        // An absurd elapsed time must not overflow into "fast enough".
        #expect(fast.bodyTooSlow(started: .uptimeNanoseconds(0), received: Int.max, now: .uptimeNanoseconds(UInt64(Int64.max))))
        #expect(ClientLimits(bodyMinRate: -5).bodyMinRate == 0)
        #expect(ClientLimits(maxConnections: -1).maxConnections == 0)
    }

    @Test func checkIntervalIsAQuarterOfTheShortestDeadlineWithinBounds() {
        #expect(ClientLimits(headTimeout: .seconds(2)).checkInterval(idleTimeout: .seconds(75)) == .milliseconds(500))
        #expect(ClientLimits(headTimeout: .seconds(30)).checkInterval(idleTimeout: .seconds(75)) == .seconds(1))
        #expect(ClientLimits(headTimeout: .seconds(30)).checkInterval(idleTimeout: .milliseconds(100)) == .milliseconds(100))
        #expect(ClientLimits(headTimeout: nil, bodyMinRate: 0).checkInterval(idleTimeout: nil) == nil)
    }

    @Test func anEventThatNeverEndsStopsTheParser() {
        var parser = SSEParser()
        var chunk = ByteBuffer(string: "data: ")
        chunk.writeRepeatingByte(UInt8(ascii: "x"), count: 1 << 20)
        #expect(parser.feed(chunk).isEmpty)
        chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)
        for _ in 0..<(SSEParser.maxEventBytes >> 20) { _ = parser.feed(chunk) }
        #expect(parser.overflowed)
        #expect(parser.feed(ByteBuffer(string: "\n\ndata: late\n\n")).isEmpty)
        // Normal events far below the bound are unaffected.
        var normal = SSEParser()
        #expect(normal.feed(ByteBuffer(string: "data: a\n\ndata: b\n\n")).count == 2)
        #expect(!normal.overflowed)
    }
}
