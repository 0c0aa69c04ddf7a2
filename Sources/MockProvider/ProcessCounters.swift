import Synchronization

/// Process-wide counters shared by every event loop.
///
/// Why: retry tests need to observe how many requests really reached the upstream
/// (`x-mock-request-count`) and need "fail the first N attempts" behaviour that holds across
/// connections and threads, so the state lives here rather than in a channel handler.
final class ProcessCounters: Sendable {
    static let shared = ProcessCounters()

    private let requests = Atomic<Int>(0)
    private let abandoned = Atomic<Int>(0)
    private let failFirst = Mutex<[String: Int]>([:])

    /// Counts one more request and returns the new total (1 for the first request).
    func nextRequestNumber() -> Int {
        requests.wrappingAdd(1, ordering: .relaxed).newValue
    }

    var requestCount: Int { requests.load(ordering: .relaxed) }

    /// Exchanges whose client (the gateway) closed the connection before the reply was complete:
    /// how tests see that a client's disconnect really cancelled the upstream request.
    var abandonedCount: Int { abandoned.load(ordering: .relaxed) }

    func countAbandoned() {
        abandoned.wrappingAdd(1, ordering: .relaxed)
    }

    /// Counts one more request carrying `key` and returns how many have been seen so far,
    /// this one included.
    func nextAttempt(forKey key: String) -> Int {
        failFirst.withLock { counts in
            let attempt = (counts[key] ?? 0) + 1
            counts[key] = attempt
            return attempt
        }
    }
}
