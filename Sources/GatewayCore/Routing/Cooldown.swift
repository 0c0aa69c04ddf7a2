public import Logging
import LuaRuntime
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

/// Cooldowns told to and heard from other replicas (``RedisCooldownShare``): a target one replica
/// put in cooldown is skipped by all until the period ends. Failures are counted per replica.
public protocol CooldownShare: Sendable {
    /// Whether another replica has the target cooling down (a share that cannot answer: no).
    nonisolated(nonsending) func isCooling(_ key: String) async -> Bool
    /// Tells the others that the target cools down for `period`.
    func started(_ key: String, period: Duration)
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
    /// Other replicas' cooldowns, when they are shared.
    let share: (any CooldownShare)?

    public init(settings: CooldownSettings, logger: Logger? = nil, metrics: GatewayMetrics? = nil, share: (any CooldownShare)? = nil) {
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        self.share = share
    }

    /// The key of a leaf target: where it goes and with which credentials (the key itself is
    /// hashed, never kept or logged). The same on every replica, so cooldowns can be shared.
    static func key(_ target: RouteConfig.Target) -> String {
        let credential = target.apiKey.map { key in
            SHA256.digest(Array(key.utf8)).prefix(8).map { byte in
                let digits = Array("0123456789abcdef")
                return String([digits[Int(truncatingIfNeeded: byte >> 4)], digits[Int(truncatingIfNeeded: byte & 0xF)]])
            }.joined()
        }
        return "\(target.provider ?? "")|\(target.customHost ?? "")|\(credential ?? "")"
    }

    /// Whether another replica has the target cooling down.
    nonisolated(nonsending) func sharedCooling(_ key: String) async -> Bool {
        guard settings.failures > 0, let share else { return false }
        return await share.isCooling(key)
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
            share?.started(key, period: settings.period)
            metrics?.cooldownStarted(provider: provider)
            logger?.warning("target cooling down", metadata: [
                "target": "\(path)", "consecutive_failures": "\(started)", "seconds": "\(settings.period.components.seconds)"])
        }
    }
}
