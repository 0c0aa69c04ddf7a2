public import NIOCore
import LuaRuntime
import Synchronization

/// Where the per-minute windows of rate-limited keys are kept: in this process (the default,
/// ``LocalLimitStore``), or in Redis, so that every replica counts against the same windows.
public protocol LimitStore: Sendable {
    /// Counts one request against the key's windows if each has room, and says how they stand.
    func admit(_ key: LimitedKey, on loop: any EventLoop) -> EventLoopFuture<LimitVerdict>
    /// Adds the tokens a finished request used (as the provider reported them) to the key's
    /// token window.
    func spend(_ key: LimitedKey, tokens: Int)
}

/// A minute as 60 one-second buckets: what was counted in the last 60 seconds, exact to the
/// second (a request counted at 12:00:00.9 frees its place at 12:01:00).
struct MinuteWindow: Sendable {
    private var counts = [Int](repeating: 0, count: 60)
    /// The second (since the clock's origin) each bucket holds; older buckets count as empty.
    private var seconds = [Int](repeating: Int.min, count: 60)

    /// What the window holds at `second`.
    func used(at second: Int) -> Int {
        var total = 0
        for slot in 0..<60 where seconds[slot] > second - 60 { total += counts[slot] }
        return total
    }

    mutating func add(_ amount: Int, at second: Int) {
        let slot = ((second % 60) + 60) % 60
        if seconds[slot] != second {
            seconds[slot] = second
            counts[slot] = 0
        }
        counts[slot] += amount
    }

    /// Seconds from `now` until the window holds at most `target`: buckets leave it oldest first,
    /// each 60 s after its second began.
    func wait(untilAtMost target: Int, now: Double) -> Double {
        let second = MinuteWindow.second(of: now)
        var left = used(at: second)
        guard left > target else { return 0 }
        let live = (0..<60).filter { seconds[$0] > second - 60 && counts[$0] > 0 }.sorted { seconds[$0] < seconds[$1] }
        for slot in live {
            left -= counts[slot]
            if left <= target { return Double(seconds[slot] + 60) - now }
        }
        return 60
    }

    /// The whole second an instant falls in (clamped: a clock reading is never NaN or huge, but a
    /// conversion that could trap has no place on the request path).
    static func second(of seconds: Double) -> Int {
        CheckedInteger.clamped(seconds.rounded(.down), to: -(1 << 52)...(1 << 52)) ?? 0
    }

    /// Whether nothing in it counts any more at `second` (the key's entry can be dropped).
    func isIdle(at second: Int) -> Bool { used(at: second) == 0 }
}

/// The windows in this process: exact for one gateway, per replica when there are several (then
/// use Redis). Touched under one lock, briefly: a dictionary lookup and 60 buckets per window.
public final class LocalLimitStore: LimitStore {
    private struct Entry {
        var requests = MinuteWindow()
        var tokens = MinuteWindow()
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Seconds on a monotonic clock (injectable for tests).
    private let clock: @Sendable () -> Double
    /// Entries kept before idle ones are swept (keys limited by a metadata value can be many).
    private let sweepAbove: Int

    public init(sweepAbove: Int = 10_000, clock: (@Sendable () -> Double)? = nil) {
        let start = ContinuousClock.now
        self.clock = clock ?? {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        self.sweepAbove = sweepAbove
    }

    public func admit(_ key: LimitedKey, on loop: any EventLoop) -> EventLoopFuture<LimitVerdict> {
        loop.makeSucceededFuture(admit(key))
    }

    /// The verdict now, synchronously (the in-process store never waits).
    public func admit(_ key: LimitedKey) -> LimitVerdict {
        let now = clock()
        let second = MinuteWindow.second(of: now)
        let limits = key.limits
        return entries.withLock { entries in
            if entries.count > sweepAbove { entries = entries.filter { !$0.value.requests.isIdle(at: second) || !$0.value.tokens.isIdle(at: second) } }
            var entry = entries[key.id] ?? Entry()
            let requestsUsed = entry.requests.used(at: second)
            let tokensUsed = entry.tokens.used(at: second)
            let admitted = limits.requestsPerMinute.map { requestsUsed < $0 } ?? true
                && limits.tokensPerMinute.map { tokensUsed < $0 } ?? true
            if admitted, limits.requestsPerMinute != nil { entry.requests.add(1, at: second) }
            entries[key.id] = entry
            var verdict = LimitVerdict(admitted: admitted)
            if let limit = limits.requestsPerMinute {
                verdict.requests = .init(limit: limit, remaining: max(0, limit - requestsUsed - (admitted ? 1 : 0)),
                                         resetSeconds: entry.requests.wait(untilAtMost: 0, now: now),
                                         retryAfterSeconds: entry.requests.wait(untilAtMost: limit - 1, now: now))
            }
            if let limit = limits.tokensPerMinute {
                verdict.tokens = .init(limit: limit, remaining: max(0, limit - tokensUsed),
                                       resetSeconds: entry.tokens.wait(untilAtMost: 0, now: now),
                                       retryAfterSeconds: entry.tokens.wait(untilAtMost: limit - 1, now: now))
            }
            return verdict
        }
    }

    public func spend(_ key: LimitedKey, tokens: Int) {
        guard key.limits.tokensPerMinute != nil, tokens > 0 else { return }
        let second = MinuteWindow.second(of: clock())
        entries.withLock { entries in
            var entry = entries[key.id] ?? Entry()
            entry.tokens.add(tokens, at: second)
            entries[key.id] = entry
        }
    }
}
