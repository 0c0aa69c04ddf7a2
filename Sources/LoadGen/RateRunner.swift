import NIOCore
import NIOHTTP1
import NIOPosix

/// One event loop's share of a `rate` run. Sendable so it can be handed to the loop.
struct RatePlan: Sendable {
    var request: RequestTemplate
    /// Requests per second across all loops; request `i` is due at start + i / rate.
    var rate: Double
    /// Requests across all loops; this loop sends indices first, first + step, … below it.
    var total: Int
    var first: Int
    var step: Int
    /// Connections opened before the clock starts, and the most this loop may hold.
    var warmConnections: Int
    var maxConnections: Int
    var timeoutNanoseconds: UInt64
}

/// Open-loop request scheduler and keep-alive pool for one event loop.
///
/// Why open loop: request `i` is issued at its scheduled time whether or not earlier ones have
/// finished, and its latency is measured from that scheduled time. A slow gateway therefore
/// shows up as queueing in the latency instead of silently lowering the offered rate
/// (coordinated omission). When no pooled connection is free a new one is opened, up to
/// `maxConnections`; beyond that requests wait in a FIFO queue, still on the clock.
final class RateRunner {
    private static let sweepInterval: TimeAmount = .milliseconds(100)

    private let loop: any EventLoop
    private let plan: RatePlan
    private let promise: EventLoopPromise<RateTotals>
    private let lagProbe: LagProbe
    private var totals = RateTotals()

    private var connections: [ObjectIdentifier: RateConnection] = [:]
    private var idle: [RateConnection] = []
    private var connecting = 0
    private var warming = 0
    /// Scheduled times of requests waiting for a connection, oldest first.
    private var queue = CircularBuffer<UInt64>()
    private var nextIndex: Int
    private var start: UInt64 = 0
    /// Requests dispatched but not yet completed or failed (queued or in flight).
    private var outstanding = 0
    private var started = false
    private var finished = false
    private var tick: Scheduled<Void>?
    private var sweep: Scheduled<Void>?

    init(loop: any EventLoop, plan: RatePlan) {
        self.loop = loop
        self.plan = plan
        self.promise = loop.makePromise()
        self.lagProbe = LagProbe(loop: loop)
        self.nextIndex = plan.first
        totals.latencies.reserveCapacity(max(0, (plan.total - plan.first) / plan.step + 1))
    }

    /// Warms the pool, then runs the schedule; completes when every request has resolved.
    func run() -> EventLoopFuture<RateTotals> {
        lagProbe.start()
        warming = plan.warmConnections
        if warming == 0 { begin() }
        for _ in 0..<plan.warmConnections { open(warm: true) }
        return promise.futureResult
    }

    private func begin() {
        started = true
        start = uptimeNow()
        if nextIndex < plan.total { totals.firstScheduled = start }
        scheduleSweep()
        dispatchDue()
    }

    // MARK: - Schedule

    private func scheduledTime(_ index: Int) -> UInt64 {
        start + UInt64(Double(index) * 1e9 / plan.rate)
    }

    /// Issues every request whose time has come (a late timer issues several at once, each
    /// keeping its own scheduled time), then sleeps until the next one is due.
    private func dispatchDue() {
        tick = nil
        let now = uptimeNow()
        while nextIndex < plan.total {
            let due = scheduledTime(nextIndex)
            guard due <= now else {
                tick = loop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(due)) { self.dispatchDue() }
                return
            }
            dispatch(scheduledAt: due)
            nextIndex += plan.step
        }
        finishIfDone()
    }

    private func dispatch(scheduledAt due: UInt64) {
        totals.sent += 1
        outstanding += 1
        if let connection = idle.popLast() {
            connection.send(scheduledAt: due)
        } else {
            queue.append(due)
            openIfNeeded()
        }
    }

    // MARK: - Pool

    /// Opens connections while queued requests outnumber connections already on their way.
    private func openIfNeeded() {
        while queue.count > connecting, connections.count + connecting < plan.maxConnections {
            open(warm: false)
        }
    }

    private func open(warm: Bool) {
        connecting += 1
        if !warm { totals.extraConnections += 1 }
        let connection = RateConnection(runner: self, request: plan.request)
        let bound = NIOLoopBound(connection, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(Int64(min(plan.timeoutNanoseconds, 10_000_000_000))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(to: plan.request.target.address)
            .assumeIsolated()
            .whenComplete { result in
                self.connecting -= 1
                switch result {
                case .success(let channel):
                    self.connected(connection, channel: channel)
                case .failure(let error):
                    self.connectFailed("connect: \(describe(error))", warm: warm)
                }
                if warm {
                    self.warming -= 1
                    if self.warming == 0 { self.begin() }
                }
            }
    }

    private func connected(_ connection: RateConnection, channel: any Channel) {
        guard !finished else {
            connection.close()
            return
        }
        guard channel.isActive else {
            openIfNeeded()
            return
        }
        connections[ObjectIdentifier(connection)] = connection
        totals.peakConnections = max(totals.peakConnections, connections.count)
        becameFree(connection)
    }

    /// A failed connect costs the oldest queued request (the one that asked for it), so a dead
    /// target produces one error per request instead of an endless reconnect loop.
    private func connectFailed(_ message: String, warm: Bool) {
        guard !finished else { return }
        if queue.popFirst() != nil {
            failRequest(message)
        } else if warm {
            totals.errorSamples.add(message + " (warm-up)")
        }
        finishIfDone()
    }

    /// Gives a free connection the oldest queued request that has not timed out, or parks it.
    private func becameFree(_ connection: RateConnection) {
        let now = uptimeNow()
        while let due = queue.popFirst() {
            if now &- due > plan.timeoutNanoseconds {
                failRequest("timeout: no connection free within --timeout")
                continue
            }
            connection.send(scheduledAt: due)
            return
        }
        idle.append(connection)
    }

    // MARK: - Called by RateConnection

    func responseEnded(
        _ connection: RateConnection, scheduledAt due: UInt64, status: HTTPResponseStatus, keepAlive: Bool
    ) {
        guard !finished else { return }
        let now = uptimeNow()
        if (200..<300).contains(status.code) {
            totals.completed += 1
            totals.latencies.append(now &- due)
            resolved(at: now)
        } else {
            failRequest("HTTP \(status.code)")
        }
        if keepAlive {
            becameFree(connection)
        } else {
            connections.removeValue(forKey: ObjectIdentifier(connection))
            connection.close()
            openIfNeeded()
        }
        finishIfDone()
    }

    func connectionClosed(_ connection: RateConnection, inFlight: UInt64?, reason: String) {
        guard !finished else { return }
        connections.removeValue(forKey: ObjectIdentifier(connection))
        idle.removeAll { $0 === connection }
        if inFlight != nil { failRequest(reason) }
        openIfNeeded()
        finishIfDone()
    }

    // MARK: - Bookkeeping

    private func failRequest(_ message: String) {
        totals.errors += 1
        totals.errorSamples.add(message)
        resolved(at: uptimeNow())
    }

    private func resolved(at now: UInt64) {
        outstanding -= 1
        totals.lastResolved = max(totals.lastResolved, now)
    }

    /// Every 100 ms: fail requests that have outlived `--timeout`, in flight or queued.
    private func scheduleSweep() {
        sweep = loop.assumeIsolated().scheduleTask(in: Self.sweepInterval) {
            self.expireOverdue()
            if !self.finished { self.scheduleSweep() }
        }
    }

    private func expireOverdue() {
        let now = uptimeNow()
        for connection in connections.values {
            if let due = connection.inFlight, now &- due > plan.timeoutNanoseconds {
                failRequest("timeout: no response within --timeout")
                connection.abandon()
            }
        }
        while let due = queue.first, now &- due > plan.timeoutNanoseconds {
            _ = queue.popFirst()
            failRequest("timeout: no connection free within --timeout")
        }
        finishIfDone()
    }

    private func finishIfDone() {
        guard started, !finished, nextIndex >= plan.total, outstanding == 0 else { return }
        finished = true
        tick?.cancel()
        sweep?.cancel()
        lagProbe.stop()
        connections.values.forEach { $0.close() }
        connections = [:]
        idle = []
        totals.loopLag = lagProbe.samples
        promise.succeed(totals)
    }
}
