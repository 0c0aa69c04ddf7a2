/// Everything a `streams` run measured, summed over event loops.
///
/// Why raw samples: percentiles must be exact over all streams, so each loop keeps every
/// TTFE and gap (nanoseconds) and the arrays are concatenated at the end.
struct StreamTotals: Sendable {
    var completed = 0
    var errors = 0
    var errorSamples = ErrorSamples()
    /// Gaps longer than the stall threshold, and the streams that had at least one.
    var stalls = 0
    var stalledStreams = 0
    var events = 0
    var timeToFirstEvent: [UInt64] = []
    var gaps: [UInt64] = []
    /// How late LoadGen's own timers fired (see `LagProbe`).
    var loopLag: [UInt64] = []

    mutating func merge(_ other: StreamTotals) {
        completed += other.completed
        errors += other.errors
        errorSamples.merge(other.errorSamples)
        stalls += other.stalls
        stalledStreams += other.stalledStreams
        events += other.events
        timeToFirstEvent += other.timeToFirstEvent
        gaps += other.gaps
        loopLag += other.loopLag
    }
}
