import NIOCore
public import RedisClient

/// Cooldowns shared through Redis: a replica that puts a target in cooldown sets
/// `sb:cooldown:<target key>` for the period; every replica skips the target while it exists.
/// The target key holds a hash of the credential, never the credential. A Redis that does not
/// answer is no cooldown (the request goes to the target), counted and logged at most every 10 s.
public final class RedisCooldownShare: CooldownShare {
    let client: RedisClient
    private let report: SharedRedis.Reporter

    public init(redis: SharedRedis) {
        self.client = redis.client
        self.report = redis.reporter("the shared cooldowns")
    }

    static func name(_ key: String) -> RESPArgument { .string("sb:cooldown:" + key) }

    public nonisolated(nonsending) func isCooling(_ key: String) async -> Bool {
        do {
            return try await client.send([.string("EXISTS"), Self.name(key)]).int == 1
        } catch {
            report.failed(error, doing: "read a target's cooldown", so: "cooldowns are per replica until it answers")
            return false
        }
    }

    public func started(_ key: String, period: Duration) {
        let milliseconds = max(1, period.components.seconds * 1000 + period.components.attoseconds / 1_000_000_000_000_000)
        client.send([.string("SET"), Self.name(key), .string("1"), .string("PX"), .string(String(milliseconds))])
            .whenFailure { error in self.report.failed(error, doing: "share a target's cooldown") }
    }
}
