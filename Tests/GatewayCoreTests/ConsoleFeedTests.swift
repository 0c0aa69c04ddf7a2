import NIOCore
import Synchronization
import Testing
@testable import GatewayCore

/// The console's feed hub: nothing is encoded without a watcher, each watcher's queue is bounded
/// and reports what it dropped, and a watcher that leaves stops costing anything.
@Suite struct ConsoleFeedTests {
    func finish(_ observer: RequestObserver, traceID: String, body: String? = nil) {
        let record = observer.makeRecord(method: "POST", route: "/v1/chat/completions", traceID: traceID,
                                         body: body.map { ByteBuffer(string: $0) })
        record.update {
            $0.provider = "openai"
            $0.model = "gpt-4o"
            $0.tokensIn = 12
            $0.tokensOut = 7
        }
        observer.finished(record, status: 200)
    }

    @Test func nobodyWatchingMeansNothingIsEncoded() {
        let observer = RequestObserver()
        for index in 0..<5 { finish(observer, traceID: "t\(index)") }
        #expect(observer.console.encodedCount == 0)
        #expect(!observer.console.isWatched)
        // With a watcher the same calls encode, once per request.
        let subscription = observer.console.subscribe {}
        for index in 0..<3 { finish(observer, traceID: "w\(index)") }
        #expect(observer.console.encodedCount == 3)
        subscription.cancel()
        finish(observer, traceID: "after")
        #expect(observer.console.encodedCount == 3)
    }

    @Test func aWatcherGetsEachFinishedRequestAsItsLogLineWithoutBodies() throws {
        // Body logging on: the log line would carry the bodies; the feed never does.
        let observer = RequestObserver(log: LineWriter(descriptor: 2), logBodies: true)
        let woken = Atomic<Int>(0)
        let subscription = observer.console.subscribe { woken.add(1, ordering: .relaxed) }
        finish(observer, traceID: "trace-1", body: #"{"secret":"prompt text"}"#)
        finish(observer, traceID: "trace-2")
        #expect(observer.console.encodedCount == 2)
        #expect(woken.load(ordering: .relaxed) == 1)  // once per batch, not per event
        let batch = subscription.take()
        #expect(batch.dropped == 0)
        let lines = batch.events.map { String(decoding: $0, as: UTF8.self) }
        try #require(lines.count == 2)
        #expect(lines[0].contains(#""trace_id":"trace-1""#))
        #expect(lines[0].contains(#""provider":"openai""#) && lines[0].contains(#""model":"gpt-4o""#))
        #expect(lines[0].contains(#""status":200"#) && lines[0].contains(#""tokens_in":12"#) && lines[0].contains(#""tokens_out":7"#))
        #expect(!lines[0].contains("request_body") && !lines[0].contains("prompt text"))
        #expect(lines[1].contains(#""trace_id":"trace-2""#))
        // Taken: the next event wakes the watcher again.
        finish(observer, traceID: "trace-3")
        #expect(woken.load(ordering: .relaxed) == 2)
    }

    @Test func aFullQueueDropsAndCountsForThatWatcherOnly() {
        let feed = ConsoleFeed()
        let slow = feed.subscribe(capacity: 3) {}
        let fast = feed.subscribe(capacity: 100) {}
        for index in 0..<5 { feed.publish(Array("e\(index)".utf8)) }
        let slowBatch = slow.take()
        #expect(slowBatch.events.map { String(decoding: $0, as: UTF8.self) } == ["e0", "e1", "e2"])
        #expect(slowBatch.dropped == 2)
        #expect(fast.take().events.count == 5)
        // The count is reported once; the queue has room again.
        feed.publish(Array("e5".utf8))
        let next = slow.take()
        #expect(next.dropped == 0)
        #expect(next.events.map { String(decoding: $0, as: UTF8.self) } == ["e5"])
    }

    @Test func aWatcherThatLeavesStopsTheEncoding() {
        let feed = ConsoleFeed()
        let first = feed.subscribe {}
        var second: ConsoleFeed.Subscription? = feed.subscribe {}
        #expect(feed.subscriberCount == 2)
        first.cancel()
        first.cancel()  // idempotent
        #expect(feed.subscriberCount == 1)
        second = nil  // released without cancel (a connection torn down): it leaves too
        _ = second
        #expect(feed.subscriberCount == 0)
        #expect(!feed.isWatched)
        #expect(first.take().events.isEmpty)
    }
}
