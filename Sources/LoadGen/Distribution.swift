import BenchSupport
import NIOCore

/// Exact percentiles over every sample of a run (nanoseconds in, milliseconds out).
///
/// Why exact: benchmark tails are the interesting part, and a few hundred thousand samples sort
/// in milliseconds, so there is no reason to approximate.
struct Distribution {
    private let sorted: [UInt64]

    init(nanoseconds samples: [UInt64]) {
        sorted = samples.sorted()
    }

    var count: Int { sorted.count }

    /// Nearest-rank percentile in milliseconds (`p` in 0...100); nil without samples.
    func percentile(_ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return milliseconds(sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1])
    }

    var max: Double? { sorted.last.map(milliseconds) }

    /// `{"p50":…, …, "max":…}`; values are null when there were no samples.
    func json(_ percentiles: [Double]) -> JSONValue {
        var fields: [(String, JSONValue)] = percentiles.map { p in
            ("p\(Self.label(p))", JSONValue.measurement(percentile(p)))
        }
        fields.append(("max", JSONValue.measurement(max)))
        return .object(fields)
    }

    /// `p50 1.234  p99 5.678  max 9.000` for the human summary.
    func text(_ percentiles: [Double]) -> String {
        guard !sorted.isEmpty else { return "no samples" }
        let parts = percentiles.map { "p\(Self.label($0)) \(Self.format(percentile($0)!))" }
        return (parts + ["max \(Self.format(max!))"]).joined(separator: "  ")
    }

    private func milliseconds(_ nanoseconds: UInt64) -> Double {
        Double(nanoseconds) / 1_000_000
    }

    private static func label(_ p: Double) -> String {
        p == p.rounded() ? String(Int(p)) : String(p)
    }

    static func format(_ value: Double) -> String {
        String(JSONValue.rounded(value))
    }
}

/// Current time for all measurements: the monotonic clock NIO schedules with.
@inline(__always)
func uptimeNow() -> UInt64 {
    NIODeadline.now().uptimeNanoseconds
}
