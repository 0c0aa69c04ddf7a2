import BenchSupport
import Foundation

/// One measured benchmark.
struct BenchmarkResult {
    /// Stable key for `--json`.
    var id: String
    /// Row name in the table.
    var label: String
    /// Document size, for throughput; nil for per-call benchmarks.
    var bytes: Int?
    /// The Foundation benchmark this one is compared with.
    var baseline: String?
    var sample: Sample

    var microseconds: Double { sample.medianMicroseconds }
    /// MB/s with MB = 10^6 bytes (bytes per microsecond).
    var megabytesPerSecond: Double? { bytes.map { Double($0) / microseconds } }
}

/// Renders results as a markdown table or a JSON object.
struct Report {
    var documentBytes: Int
    var repetitions: Int
    var repetitionSeconds: Double
    var results: [BenchmarkResult]

    /// Throughput ratio against the baseline: above 1 means ours is faster.
    func speedup(of result: BenchmarkResult) -> Double? {
        guard let id = result.baseline, let baseline = results.first(where: { $0.id == id }) else { return nil }
        return baseline.microseconds / result.microseconds
    }

    var markdown: String {
        var lines = [
            "Document: \(documentBytes) bytes (chat/completions request). Median of \(repetitions) repetitions "
                + "of ≥ \(repetitionSeconds) s each; MB = 10^6 bytes.",
            "vs Foundation = our throughput ÷ JSONSerialization's on the same bytes (the scan is set against "
                + "jsonObject).",
            "",
            "| Benchmark | µs/op | MB/s | vs Foundation | spread (min–max µs) | iterations (all reps) |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for result in results {
            let perRep = result.sample.microsecondsPerIteration
            let cells = [
                result.label,
                format(result.microseconds, 2),
                result.megabytesPerSecond.map { format($0, 1) } ?? "",
                speedup(of: result).map { format($0, 2) + "×" } ?? "",
                format(perRep.min() ?? 0, 2) + "–" + format(perRep.max() ?? 0, 2),
                String(result.sample.totalIterations),
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    var json: JSONValue {
        let rows: [JSONValue] = results.map { result in
            var members: [(String, JSONValue)] = [
                ("id", .string(result.id)),
                ("label", .string(result.label)),
                ("us_per_op", .double(rounded(result.microseconds))),
            ]
            if let rate = result.megabytesPerSecond { members.append(("mb_per_s", .double(rounded(rate)))) }
            if let ratio = speedup(of: result) {
                members.append(("vs_foundation", .double(rounded(ratio))))
                members.append(("baseline", .string(result.baseline ?? "")))
            }
            members.append(("iterations", .int(result.sample.totalIterations)))
            let perRep = result.sample.microsecondsPerIteration.map { JSONValue.double(rounded($0)) }
            members.append(("us_per_op_reps", .array(perRep)))
            return .object(members)
        }
        return [
            "document_bytes": .int(documentBytes),
            "repetitions": .int(repetitions),
            "repetition_seconds": .double(repetitionSeconds),
            "results": .array(rows),
        ]
    }

    private func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    private func rounded(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}
