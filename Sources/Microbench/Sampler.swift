/// Times a workload that can run any number of iterations per call.
///
/// The workload is first sized into batches of about 10 ms and warmed up (allocator, caches, the
/// Lua GC reaching its steady state). Each timed repetition then runs whole batches until at least
/// `repetitionSeconds` have passed, so every repetition is long enough without a calibration guess
/// and overshoots by at most one batch. The median repetition is reported because one slow
/// repetition (a GC cycle, another process on a 2-core box) should not move the result.
struct Sampler {
    /// Minimum wall time of one timed repetition.
    var repetitionSeconds: Double
    var repetitions = 5

    private let batchSeconds = 0.01
    /// Fixed, not scaled: short smoke runs need the Lua GC at its steady state as much as long ones.
    private let warmupSeconds = 0.05

    init(repetitionSeconds: Double) {
        self.repetitionSeconds = repetitionSeconds
    }

    /// Measures `run(n)`, which must perform `n` iterations of the workload.
    func measure(_ run: (Int) throws -> Void) rethrows -> Sample {
        // Size a batch: double until a run is measurable, then scale to the batch length.
        var batch = 1
        var elapsed = try Self.time { try run(batch) }
        while elapsed < batchSeconds / 2 {
            batch *= 2
            elapsed = try Self.time { try run(batch) }
        }
        batch = max(1, Int(Double(batch) * batchSeconds / elapsed))

        _ = try runBatches(of: batch, for: warmupSeconds, run)
        var sample = Sample()
        for _ in 0..<repetitions {
            sample.repetitions.append(try runBatches(of: batch, for: repetitionSeconds, run))
        }
        return sample
    }

    private func runBatches(
        of batch: Int, for seconds: Double, _ run: (Int) throws -> Void
    ) rethrows -> Sample.Repetition {
        let clock = ContinuousClock()
        let start = clock.now
        var iterations = 0
        var elapsed = 0.0
        while elapsed < seconds {
            try run(batch)
            iterations += batch
            elapsed = Self.seconds(clock.now - start)
        }
        return Sample.Repetition(iterations: iterations, seconds: elapsed)
    }

    private static func time(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        return seconds(clock.now - start)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// The timed repetitions of one benchmark.
struct Sample {
    struct Repetition {
        var iterations: Int
        var seconds: Double
        var microsecondsPerIteration: Double { seconds * 1e6 / Double(iterations) }
    }

    var repetitions: [Repetition] = []

    var totalIterations: Int { repetitions.reduce(0) { $0 + $1.iterations } }

    /// Microseconds per iteration of each repetition, in run order.
    var microsecondsPerIteration: [Double] { repetitions.map(\.microsecondsPerIteration) }

    /// Median microseconds per iteration.
    var medianMicroseconds: Double {
        let sorted = microsecondsPerIteration.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
