public import Logging
import Synchronization

/// Cooldown settings (an operator's): after `failures` failed attempts in a row, a target is
/// skipped for `period`; then one request probes it, and a success brings it back.
public struct CooldownSettings: Sendable {
    /// 0 turns cooldowns off.
    public var failures: Int
    public var period: Duration

    public init(failures: Int = 3, period: Duration = .seconds(30)) {
        self.failures = failures
        self.period = period
    }
}

/// Consecutive failures per target, shared by every request (beyond Portkey: a failing target
/// stops costing each request a timeout or a retry loop).
public final class CooldownTracker: Sendable {
    struct Entry {
        var failures = 0
        var until: ContinuousClock.Instant?
        var probing = false
    }

    let settings: CooldownSettings
    private let entries = Mutex<[String: Entry]>([:])
    private let logger: Logger?
    private let metrics: GatewayMetrics?

    public init(settings: CooldownSettings, logger: Logger? = nil, metrics: GatewayMetrics? = nil) {
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
    }

    /// The key of a leaf target: where it goes and with which credentials (the key itself is
    /// hashed, never kept or logged).
    static func key(_ target: RouteConfig.Target) -> String {
        "\(target.provider ?? "")|\(target.customHost ?? "")|\(target.apiKey.map { String($0.hashValue) } ?? "")"
    }

    /// Whether the target is skipped right now.
    func isCooling(_ key: String, now: ContinuousClock.Instant) -> Bool {
        guard settings.failures > 0 else { return false }
        return entries.withLock { entries in
            guard let until = entries[key]?.until else { return false }
            return now < until || entries[key]!.probing
        }
    }

    /// Whether a request may use the target; past its cooldown the first caller becomes the probe.
    func admit(_ key: String, now: ContinuousClock.Instant) -> Bool {
        guard settings.failures > 0 else { return true }
        return entries.withLock { entries in
            guard var entry = entries[key], let until = entry.until else { return true }
            if now < until || entry.probing { return false }
            entry.probing = true
            entries[key] = entry
            return true
        }
    }

    func record(_ key: String, path: String, provider: String, failed: Bool, now: ContinuousClock.Instant) {
        guard settings.failures > 0 else { return }
        let started: Int? = entries.withLock { entries in
            var entry = entries[key] ?? Entry()
            defer { entries[key] = entry }
            entry.probing = false
            guard failed else {
                entry = Entry()
                return nil
            }
            entry.failures += 1
            if entry.failures >= settings.failures {
                entry.until = now + settings.period
                return entry.failures
            }
            return nil
        }
        if let started {
            metrics?.cooldownStarted(provider: provider)
            logger?.warning("target cooling down", metadata: [
                "target": "\(path)", "consecutive_failures": "\(started)", "seconds": "\(settings.period.components.seconds)"])
        }
    }
}
