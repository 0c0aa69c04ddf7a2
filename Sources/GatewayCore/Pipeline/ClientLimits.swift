public import NIOCore

/// What a client connection may cost the gateway in time and memory: how long its request head
/// may take, how slowly its body may arrive, how many connections may be open at once.
///
/// Why these three: the idle timeout alone resets on every byte, so a client sending one byte every
/// half second (slowloris) kept a connection forever; a cap on time per head and a minimum average
/// rate per body make each connection's lifetime depend on the bytes it delivers, and the cap on
/// connections bounds how many such clients can be held at once.
public struct ClientLimits: Sendable, Equatable {
    /// Longest time from the first byte of a request head (or from accepting the connection, for
    /// its first request) to the end of that head; nil: no deadline.
    public var headTimeout: TimeAmount?
    /// Slowest average rate, in bytes per second, at which a request body must arrive once
    /// `bodyGrace` has passed since its head; 0: no minimum.
    public var bodyMinRate: Int
    /// Time a body gets before the minimum rate applies (a client may pause after its head).
    public var bodyGrace: TimeAmount
    /// Client connections open at once; more are answered 503 and closed. 0: no cap.
    public var maxConnections: Int

    public static let defaultHeadTimeout = TimeAmount.seconds(30)
    public static let defaultBodyMinRate = 1024
    public static let defaultMaxConnections = 10_000

    public init(headTimeout: TimeAmount? = Self.defaultHeadTimeout, bodyMinRate: Int = Self.defaultBodyMinRate,
                bodyGrace: TimeAmount? = nil, maxConnections: Int = Self.defaultMaxConnections) {
        self.headTimeout = headTimeout
        self.bodyMinRate = max(0, bodyMinRate)
        self.bodyGrace = bodyGrace ?? headTimeout ?? Self.defaultHeadTimeout
        self.maxConnections = max(0, maxConnections)
    }

    /// Whether a head begun at `started` is past its deadline at `now`.
    public func headExpired(started: NIODeadline, now: NIODeadline) -> Bool {
        guard let headTimeout else { return false }
        return now - started >= headTimeout
    }

    /// Whether a body whose head ended at `started`, and of which `received` bytes have arrived,
    /// is behind the minimum rate at `now`: it is allowed `bodyGrace` plus one second per
    /// `bodyMinRate` bytes received. Overflow-safe for any byte count.
    public func bodyTooSlow(started: NIODeadline, received: Int, now: NIODeadline) -> Bool {
        guard bodyMinRate > 0 else { return false }
        let elapsed = (now - started).nanoseconds
        let grace = bodyGrace.nanoseconds
        guard elapsed > grace else { return false }
        // Bytes the client must have sent by now; compare in seconds-granularity integers so the
        // product cannot overflow (elapsed is at most ~292 years in nanoseconds).
        let seconds = (elapsed - grace) / 1_000_000_000
        let (owed, overflow) = seconds.multipliedReportingOverflow(by: Int64(bodyMinRate))
        if overflow { return true }
        return Int64(max(0, received)) < owed
    }

    /// How often a connection checks its deadlines: a quarter of the shortest, between 100 ms and 1 s.
    public func checkInterval(idleTimeout: TimeAmount?) -> TimeAmount? {
        var shortest: TimeAmount?
        for candidate in [idleTimeout, headTimeout, bodyMinRate > 0 ? bodyGrace : nil] {
            if let candidate { shortest = min(shortest ?? candidate, candidate) }
        }
        guard let shortest else { return nil }
        return min(.seconds(1), max(.milliseconds(100), .nanoseconds(shortest.nanoseconds / 4)))
    }
}
