import NIOCore
@testable import RedisClient
import Testing

@Suite struct BackoffTests {
    /// Doubles from the base, stays at the cap however many attempts fail (an earlier version
    /// overflowed after ~30 and crashed), and jitter only shortens, by at most a quarter.
    @Test func doublesUpToTheCapForever() {
        let base = TimeAmount.milliseconds(50)
        let cap = TimeAmount.seconds(2)
        for attempt in [0, 1, 2, 3, 4, 5, 6, 10, 30, 37, 38, 39, 40, 63, 64, 1000, Int.max] {
            // 50 ms × 2^attempt: 50, 100, 200, 400, 800, 1600 ms, then the 2 s cap.
            let expected: Int64 = attempt <= 5 ? 50_000_000 << Int64(attempt) : 2_000_000_000
            for _ in 0..<20 {
                let delay = RedisLoopPool.backoff(attempt: attempt, base: base, cap: cap).nanoseconds
                #expect(delay <= expected, "attempt \(attempt)")
                #expect(delay >= expected - expected / 4, "attempt \(attempt)")
            }
        }
        #expect(RedisLoopPool.backoff(attempt: 3, base: .zero, cap: cap) == .zero)
    }
}
