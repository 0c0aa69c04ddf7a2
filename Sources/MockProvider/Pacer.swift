import NIOCore

/// Runs the paced stream writes of one event loop from one timer, in 1 ms ticks.
///
/// Why: with a `scheduleTask` per stream per event, 10,000 paced streams kept 10,000 entries in
/// NIO's timer heap and made a task, a promise and a heap insertion per event; a profile of
/// `bench/streams-memory --counts 10000 --lanes direct` put 16 % of the mock's CPU in the heap
/// (`_popTasksLocked`, `Heap._heapify`). Here an event costs an append to its tick's list, and the
/// loop has at most one timer armed: the earliest tick with work.
///
/// Touched only on its event loop (the handlers of that loop's channels call it).
final class Pacer: @unchecked Sendable {
    private let loop: any EventLoop
    /// Work by the millisecond tick (uptime) it is due in.
    private var due: [UInt64: [() -> Void]] = [:]
    private var armedTick: UInt64?
    private var timer: Scheduled<Void>?

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// Runs `work` on the loop `delay` from now (rounded up to the next millisecond).
    func schedule(in delay: TimeAmount, _ work: @escaping () -> Void) {
        loop.preconditionInEventLoop()
        let deadline = NIODeadline.now() + delay
        let tick = (deadline.uptimeNanoseconds + 999_999) / 1_000_000
        due[tick, default: []].append(work)
        arm(tick)
    }

    private func arm(_ tick: UInt64) {
        if let armedTick, armedTick <= tick { return }
        timer?.cancel()
        armedTick = tick
        timer = loop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(tick * 1_000_000)) { self.fire() }
    }

    private func fire() {
        timer = nil
        armedTick = nil
        let now = NIODeadline.now().uptimeNanoseconds / 1_000_000
        // Few distinct ticks are pending at once (about one per millisecond of the longest
        // interval), so scanning the keys is cheap.
        for tick in due.keys.filter({ $0 <= now }).sorted() {
            for work in due.removeValue(forKey: tick) ?? [] { work() }
        }
        if let next = due.keys.min() { arm(next) }
    }
}
