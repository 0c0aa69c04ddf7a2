import NIOCore
import NIOHTTP1
import NIOPosix

/// What one event loop's share of a `streams` run needs to know. Sendable so it can be
/// handed to the loop; everything mutable lives in `StreamRunner`, which never leaves it.
struct StreamPlan: Sendable {
    var request: RequestTemplate
    /// Global stream indices this loop runs, and the total across loops (for ramp spacing).
    var indices: [Int]
    var concurrency: Int
    var startAt: UInt64
    var ramp: TimeAmount
    var timeout: TimeAmount
    var stallNanoseconds: UInt64
}

/// Runs one event loop's streams: starts each at its point on the ramp, enforces the
/// per-stream timeout, and collects the samples.
///
/// Why one runner per loop: all of its state is touched only on its own loop, so counting
/// needs no locks; loops' totals are merged once at the end.
final class StreamRunner {
    private let loop: any EventLoop
    private let plan: StreamPlan
    private let promise: EventLoopPromise<StreamTotals>
    private let lagProbe: LagProbe
    private var totals = StreamTotals()
    private var remaining: Int

    init(loop: any EventLoop, plan: StreamPlan) {
        self.loop = loop
        self.plan = plan
        self.promise = loop.makePromise()
        self.lagProbe = LagProbe(loop: loop)
        self.remaining = plan.indices.count
        totals.timeToFirstEvent.reserveCapacity(remaining)
    }

    /// Schedules every stream; the future completes when the last one has finished.
    func run() -> EventLoopFuture<StreamTotals> {
        guard remaining > 0 else {
            promise.succeed(totals)
            return promise.futureResult
        }
        lagProbe.start()
        let rampNanoseconds = UInt64(max(0, plan.ramp.nanoseconds))
        for index in plan.indices {
            let offset = rampNanoseconds * UInt64(index) / UInt64(plan.concurrency)
            loop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(plan.startAt + offset)) {
                self.startStream()
            }
        }
        return promise.futureResult
    }

    private func startStream() {
        let client = StreamClient(runner: self, request: plan.request)
        client.timeout = loop.assumeIsolated().scheduleTask(in: plan.timeout) { client.timedOut() }
        let bound = NIOLoopBound(client, eventLoop: loop)
        let connectTimeout = min(plan.timeout, .seconds(10))
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(to: plan.request.target.address)
            .assumeIsolated()
            .whenFailure { error in client.connectFailed(error) }
    }

    // MARK: - Called by StreamClient

    func recordFirstEvent(after nanoseconds: UInt64) {
        totals.timeToFirstEvent.append(nanoseconds)
    }

    /// Records a gap; returns whether it was a stall.
    @inline(__always)
    func recordGap(_ nanoseconds: UInt64) -> Bool {
        totals.gaps.append(nanoseconds)
        guard nanoseconds > plan.stallNanoseconds else { return false }
        totals.stalls += 1
        return true
    }

    func streamFinished(events: Int, stalls: Int, error: String?, errorKey: String?) {
        totals.events += events
        if stalls > 0 { totals.stalledStreams += 1 }
        if let error {
            totals.errors += 1
            totals.errorSamples.add(error, key: errorKey)
        } else {
            totals.completed += 1
        }
        remaining -= 1
        if remaining == 0 {
            lagProbe.stop()
            totals.loopLag = lagProbe.samples
            promise.succeed(totals)
        }
    }
}
