import BenchSupport
import ArgumentParser
import NIOCore
import NIOPosix

/// `LoadGen streams --concurrency N --timeout S --stall-ms M [--ramp-ms R]`
///
/// Holds N SSE streams open at once (one fresh connection each) and reports how many finished
/// cleanly, time to first event, inter-event gaps and stalls. This is the test wrk cannot do:
/// it shows whether a gateway keeps thousands of paced streams flowing without hiccups.
struct StreamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Hold N concurrent SSE streams; report TTFE, inter-event gaps and stalls."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Number of concurrent streams (one connection each).")
    var concurrency: Int

    @Option(help: "Seconds each stream may live in total (connect to [DONE]) before it counts as an error.")
    var timeout: Double = 60

    @Option(name: .customLong("stall-ms"), help: "A gap between consecutive events longer than this is a stall.")
    var stallMs: Double = 250

    @Option(name: .customLong("ramp-ms"), help: "Spread the connection starts over this many milliseconds.")
    var rampMs: Double = 1000

    func validate() throws {
        guard (1...1_000_000).contains(concurrency) else { throw ValidationError("--concurrency must be at least 1") }
        guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be in (0, 86400] seconds") }
        guard stallMs > 0 else { throw ValidationError("--stall-ms must be positive") }
        guard rampMs >= 0, rampMs <= 3_600_000 else { throw ValidationError("--ramp-ms must be in 0...3600000") }
    }

    func run() throws {
        let request = try common.makeRequest(closeConnection: true, acceptEventStream: true)
        FileLimit.raise(toCover: concurrency + 64)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: common.threads)
        defer { try? group.syncShutdownGracefully() }
        let loops = Array(group.makeIterator())
        let startedAt = uptimeNow()
        let startAt = startedAt + 5_000_000  // let every loop receive its plan first
        let futures = loops.enumerated().map { number, loop in
            let plan = StreamPlan(
                request: request,
                indices: Array(stride(from: number, to: concurrency, by: loops.count)),
                concurrency: concurrency,
                startAt: startAt,
                ramp: .nanoseconds(Int64(rampMs * 1_000_000)),
                timeout: .nanoseconds(Int64(timeout * 1_000_000_000)),
                stallNanoseconds: UInt64(stallMs * 1_000_000)
            )
            return loop.flatSubmit { StreamRunner(loop: loop, plan: plan).run() }
        }
        var totals = StreamTotals()
        for future in futures { totals.merge(try future.wait()) }
        let duration = Double(uptimeNow() - startAt) / 1e9
        print(report(totals, duration: duration))
    }

    private func report(_ totals: StreamTotals, duration: Double) -> String {
        let ttfe = Distribution(nanoseconds: totals.timeToFirstEvent)
        let gaps = Distribution(nanoseconds: totals.gaps)
        let lag = Distribution(nanoseconds: totals.loopLag)
        if common.json {
            return JSONValue.object([
                ("concurrency", .int(concurrency)),
                ("completed", .int(totals.completed)),
                ("errors", .int(totals.errors)),
                ("error_samples", totals.errorSamples.json),
                ("stalls", .int(totals.stalls)),
                ("stalled_streams", .int(totals.stalledStreams)),
                ("events", .int(totals.events)),
                ("ttfe_ms", ttfe.json([50, 90, 99])),
                ("gap_ms", gaps.json([50, 99])),
                ("duration_s", .measurement(duration)),
                ("loadgen_lag_ms", lag.json([99])),
            ]).text
        }
        var lines = [
            "streams: \(concurrency) concurrent, \(totals.completed) completed, \(totals.errors) errors, "
                + "\(totals.events) events in \(Distribution.format(duration)) s",
            "stalls (gap > \(Distribution.format(stallMs)) ms): \(totals.stalls) in \(totals.stalledStreams) streams",
            "time to first event ms: \(ttfe.text([50, 90, 99]))",
            "gap between events ms:  \(gaps.text([50, 99]))",
            "LoadGen loop lag ms:    \(lag.text([99]))",
        ]
        lines += totals.errorSamples.messages.map { "error: \($0)" }
        return lines.joined(separator: "\n")
    }
}
