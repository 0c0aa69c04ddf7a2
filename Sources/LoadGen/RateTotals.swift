/// Everything a `rate` run measured, summed over event loops.
struct RateTotals: Sendable {
    var sent = 0
    var completed = 0
    var errors = 0
    var errorSamples = ErrorSamples()
    /// Completed requests' latency from their *scheduled* time, in nanoseconds.
    var latencies: [UInt64] = []
    /// When the first request was due and the last one resolved (uptime nanoseconds).
    var firstScheduled = UInt64.max
    var lastResolved: UInt64 = 0
    /// Connections opened beyond the warm pool, and the most open at once.
    var extraConnections = 0
    var peakConnections = 0
    var loopLag: [UInt64] = []

    mutating func merge(_ other: RateTotals) {
        sent += other.sent
        completed += other.completed
        errors += other.errors
        errorSamples.merge(other.errorSamples)
        latencies += other.latencies
        firstScheduled = min(firstScheduled, other.firstScheduled)
        lastResolved = max(lastResolved, other.lastResolved)
        extraConnections += other.extraConnections
        peakConnections += other.peakConnections
        loopLag += other.loopLag
    }
}
