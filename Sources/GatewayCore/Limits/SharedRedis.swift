public import Logging
public import RedisClient
import Synchronization

/// The Redis connection the shared features use (limits and budgets, the response cache,
/// cooldowns), and how each reports a Redis that did not answer: counted in
/// `switchboard_limit_store_failures_total`, and a warning at most every 10 s per feature (an
/// outage would otherwise log one per request).
public final class SharedRedis: Sendable {
    public let client: RedisClient
    let logger: Logger
    let metrics: GatewayMetrics

    public init(client: RedisClient, logger: Logger, metrics: GatewayMetrics) {
        self.client = client
        self.logger = logger
        self.metrics = metrics
    }

    /// The failure report of one feature (`the limit store`, `the shared cache`, …).
    func reporter(_ feature: String) -> Reporter { Reporter(shared: self, feature: feature) }

    final class Reporter: Sendable {
        let shared: SharedRedis
        let feature: String
        private let last = Mutex<Double>(-.infinity)

        init(shared: SharedRedis, feature: String) {
            self.shared = shared
            self.feature = feature
        }

        /// Counts the failure; logs it with what follows from it, unless it was logged < 10 s ago.
        func failed(_ error: any Error, doing what: String, so consequence: String = "") {
            shared.metrics.limitStoreFailed()
            let now = LocalLimitStore.epochSeconds()
            let due = last.withLock { last in
                guard now - last >= 10 else { return false }
                last = now
                return true
            }
            if due { shared.logger.warning("\(feature) (Redis) failed to \(what): \(error)\(consequence.isEmpty ? "" : "; " + consequence)") }
        }
    }
}
