public import NIOCore
import FoundationEssentials
import LuaRuntime
import Synchronization

/// Where the per-minute windows of rate-limited keys are kept: in this process (the default,
/// ``LocalLimitStore``), or in Redis, so that every replica counts against the same windows.
public protocol LimitStore: Sendable {
    /// One question per key and request: its budget's standing (when it has a budget), and —
    /// unless the budget is spent — its windows' verdict (when it has limits), the request
    /// counted if each window has room.
    func check(_ key: LimitedKey, on loop: any EventLoop) -> EventLoopFuture<KeyCheck>
    /// Adds the tokens a finished request used (as the provider reported them) to the key's
    /// token window.
    func spend(_ key: LimitedKey, tokens: Int)
    /// Adds a finished request's cost to the key's current period.
    func spend(_ key: LimitedKey, usd: Double)
}

/// What ``LimitStore/check(_:on:)`` found.
public struct KeyCheck: Sendable, Equatable {
    public var budget: BudgetStanding?
    public var verdict: LimitVerdict?

    public init(budget: BudgetStanding? = nil, verdict: LimitVerdict? = nil) {
        self.budget = budget
        self.verdict = verdict
    }
}

/// A key's spending in its budget's current period.
public struct BudgetStanding: Sendable, Equatable {
    public var spentUSD: Double
    /// When the period ends (seconds since the Unix epoch).
    public var resetsAt: Double
    public var now: Double

    public init(spentUSD: Double, resetsAt: Double, now: Double) {
        self.spentUSD = spentUSD
        self.resetsAt = resetsAt
        self.now = now
    }

    /// The 429 for a request of a key whose budget is spent: when it resets, in the message and in
    /// `Retry-After`.
    func refusal(for key: LimitedKey, budget: KeyBudget) -> GatewayError {
        let reset = Date(timeIntervalSince1970: resetsAt).formatted(.iso8601)
        let wait = max(1, CheckedInteger.clamped((resetsAt - now).rounded(.up), to: 1...(366 * 86_400)) ?? 1)
        var error = GatewayError(status: 429, type: "insufficient_quota",
                                 message: "the budget of \(key.label) is spent: $\(Self.dollars(spentUSD)) of $\(Self.dollars(budget.maxUSD)) in this period; it resets at \(reset)",
                                 code: .budgetExceeded)
        error.headers = [("retry-after", String(wait)), ("x-portkey-budget-reset", reset)]
        return error
    }

    /// Dollars with cents (and more digits below a cent, so a small spend is not shown as 0.00).
    static func dollars(_ value: Double) -> String {
        let cents = (value * 100).rounded() / 100
        if value >= 0.01 || value == 0 {
            let whole = CheckedInteger.clamped(cents.rounded(.down), to: 0...(1 << 50)) ?? 0
            let fraction = CheckedInteger.clamped(((cents - Double(whole)) * 100).rounded(), to: 0...99) ?? 0
            return "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
        }
        return value.description
    }
}

extension KeyBudget {
    /// The period a time falls in (whole periods since the epoch) and when it ends.
    func period(at now: Double) -> (index: Int, endsAt: Double) {
        let index = CheckedInteger.clamped((now / Double(periodSeconds)).rounded(.down), to: 0...(1 << 50)) ?? 0
        return (index, Double(index + 1) * Double(periodSeconds))
    }
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
    /// Per key: the budget period being counted and what was spent in it.
    private let spending = Mutex<[String: (period: Int, usd: Double)]>([:])
    /// Seconds since the Unix epoch, for budget periods (injectable for tests).
    private let wallClock: @Sendable () -> Double
    /// Seconds on a monotonic clock (injectable for tests).
    private let clock: @Sendable () -> Double
    /// Entries kept before idle ones are swept (keys limited by a metadata value can be many).
    private let sweepAbove: Int

    public init(sweepAbove: Int = 10_000, clock: (@Sendable () -> Double)? = nil,
                wallClock: (@Sendable () -> Double)? = nil) {
        self.wallClock = wallClock ?? { LocalLimitStore.epochSeconds() }
        let start = ContinuousClock.now
        self.clock = clock ?? {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        self.sweepAbove = sweepAbove
    }

    public func check(_ key: LimitedKey, on loop: any EventLoop) -> EventLoopFuture<KeyCheck> {
        loop.makeSucceededFuture(check(key))
    }

    /// The check now, synchronously (the in-process store never waits).
    public func check(_ key: LimitedKey) -> KeyCheck {
        var result = KeyCheck()
        if let budget = key.budget {
            let standing = self.budget(key)
            result.budget = standing
            if standing.spentUSD >= budget.maxUSD { return result }
        }
        if !key.limits.isEmpty { result.verdict = admit(key) }
        return result
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

    /// Seconds since the Unix epoch.
    public static func epochSeconds() -> Double { Date().timeIntervalSince1970 }

    /// The standing now, synchronously.
    public func budget(_ key: LimitedKey) -> BudgetStanding {
        let now = wallClock()
        guard let budget = key.budget else { return BudgetStanding(spentUSD: 0, resetsAt: now, now: now) }
        let (period, endsAt) = budget.period(at: now)
        let spent = spending.withLock { table in table[key.id].map { $0.period == period ? $0.usd : 0 } ?? 0 }
        return BudgetStanding(spentUSD: spent, resetsAt: endsAt, now: now)
    }

    public func spend(_ key: LimitedKey, usd: Double) {
        guard let budget = key.budget, usd > 0, usd.isFinite else { return }
        let (period, _) = budget.period(at: wallClock())
        spending.withLock { table in
            let current = table[key.id].map { $0.period == period ? $0.usd : 0 } ?? 0
            table[key.id] = (period, current + usd)
        }
    }
}
