import BenchSupport
import ArgumentParser
import NIOCore
import NIOPosix

/// `LoadGen rate --rate R --duration S [--connections C] [--timeout T]`
///
/// Offers a fixed request rate for a fixed time and reports latency measured from each
/// request's scheduled send time, so the numbers include any queueing the gateway causes.
struct RateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate",
        abstract: "Open-loop fixed request rate over keep-alive connections; report latency percentiles."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Requests per second to offer.")
    var rate: Double

    @Option(help: "Seconds to keep offering requests.")
    var duration: Double

    @Option(help: "Keep-alive connections opened up front; up to 4x this many when all are busy.")
    var connections = 64

    @Option(help: "Seconds a request may take from its scheduled time before it counts as an error.")
    var timeout: Double = 10

    func validate() throws {
        guard rate > 0, rate <= 10_000_000 else { throw ValidationError("--rate must be in (0, 10000000]") }
        guard duration > 0, duration <= 86_400 else {
            throw ValidationError("--duration must be in (0, 86400] seconds")
        }
        guard rate * duration >= 1 else {
            throw ValidationError("--rate x --duration must schedule at least one request")
        }
        guard rate * duration <= 100_000_000 else { throw ValidationError("--rate x --duration is too many requests") }
        guard (1...100_000).contains(connections) else { throw ValidationError("--connections must be in 1...100000") }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600] seconds") }
    }

    func run() throws {
        let request = try common.makeRequest(closeConnection: false, acceptEventStream: false)
        FileLimit.raise(toCover: connections * 4 + 64)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: common.threads)
        defer { try? group.syncShutdownGracefully() }
        let loops = Array(group.makeIterator())
        let total = Int((rate * duration).rounded(.down))
        let futures = loops.enumerated().map { number, loop in
            let plan = RatePlan(
                request: request,
                rate: rate,
                total: total,
                first: number,
                step: loops.count,
                warmConnections: Self.share(of: connections, loop: number, loops: loops.count),
                maxConnections: max(1, Self.share(of: connections * 4, loop: number, loops: loops.count)),
                timeoutNanoseconds: UInt64(timeout * 1e9)
            )
            return loop.flatSubmit { RateRunner(loop: loop, plan: plan).run() }
        }
        var totals = RateTotals()
        for future in futures { totals.merge(try future.wait()) }
        print(report(totals))
    }

    /// Splits `count` over loops as evenly as possible.
    private static func share(of count: Int, loop: Int, loops: Int) -> Int {
        count / loops + (loop < count % loops ? 1 : 0)
    }

    private func report(_ totals: RateTotals) -> String {
        let latency = Distribution(nanoseconds: totals.latencies)
        let lag = Distribution(nanoseconds: totals.loopLag)
        let elapsed =
            totals.lastResolved > totals.firstScheduled
            ? Double(totals.lastResolved - totals.firstScheduled) / 1e9 : 0
        let achieved = elapsed > 0 ? Double(totals.completed) / elapsed : 0
        if common.json {
            return JSONValue.object([
                ("rate", .measurement(rate)),
                ("sent", .int(totals.sent)),
                ("completed", .int(totals.completed)),
                ("errors", .int(totals.errors)),
                ("error_samples", totals.errorSamples.json),
                ("achieved_rps", .measurement(achieved)),
                ("latency_ms", latency.json([50, 90, 99])),
                ("duration_s", .measurement(elapsed)),
                ("connections_peak", .int(totals.peakConnections)),
                ("loadgen_lag_ms", lag.json([99])),
            ]).text
        }
        var lines = [
            "rate: \(Distribution.format(rate)) req/s offered for \(Distribution.format(duration)) s: "
                + "\(totals.sent) sent, \(totals.completed) completed, \(totals.errors) errors",
            "achieved: \(Distribution.format(achieved)) req/s over \(Distribution.format(elapsed)) s; "
                + "peak \(totals.peakConnections) connections (\(totals.extraConnections) opened beyond the pool)",
            "latency ms (from scheduled time): \(latency.text([50, 90, 99]))",
            "LoadGen loop lag ms: \(lag.text([99]))",
        ]
        lines += totals.errorSamples.messages.map { "error: \($0)" }
        return lines.joined(separator: "\n")
    }
}
