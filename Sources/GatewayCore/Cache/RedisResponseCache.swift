import LuaRuntime
public import NIOCore
public import RedisClient

/// The response cache in Redis, shared by every replica: an answer stored through one is a hit
/// through another. Each entry is a hash under `sb:cache:<sha-256 of the canonical request>` (the
/// key holds no request text and no credential) with the status, content type, when it was stored
/// and the body, and expires after the storing request's `max_age`. Redis's own memory policy
/// bounds the whole; ``maxBytes`` bounds one answer.
///
/// A lookup Redis does not answer in time is a miss (the request goes upstream), a store that
/// fails is dropped; both are counted in `switchboard_limit_store_failures_total` and logged at
/// most every 10 s.
public final class RedisResponseCache: ResponseCacheBackend {
    let client: RedisClient
    public let maxBytes: Int
    private let report: SharedRedis.Reporter

    public init(redis: SharedRedis, maxBytes: Int) {
        self.client = redis.client
        self.maxBytes = maxBytes
        self.report = redis.reporter("the shared cache")
    }

    static func name(_ key: CacheKey) -> RESPArgument { .string("sb:cache:" + key.hex) }

    /// KEYS: the entry. ARGV: status, content type, stored-at (ms since the epoch), body, ttl (ms).
    static let storeScript = RedisScript(#"""
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'type', ARGV[2], 'at', ARGV[3], 'body', ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return 1
    """#)

    public nonisolated(nonsending) func cached(_ key: CacheKey, maxAge: Duration) async -> CachedResponse? {
        let reply: RESPValue
        do {
            reply = try await client.send([.string("HMGET"), Self.name(key), .string("status"), .string("type"), .string("at"),
                                           .string("body")])
        } catch {
            report.failed(error, doing: "look up a cached answer", so: "the cache is skipped until it answers")
            return nil
        }
        guard let fields = reply.array, fields.count == 4, let status = fields[0].int, let type = fields[1].string,
              let at = fields[2].int, case .bulkString(let body) = fields[3] else { return nil }
        let age = LocalLimitStore.epochSeconds() * 1000 - Double(at)
        guard age >= 0, age <= Double(maxAge.components.seconds) * 1000 + Double(maxAge.components.attoseconds) / 1e15 else {
            return nil
        }
        var response = CachedResponse(status: status, contentType: type, body: body)
        response.storedAt = .now - .milliseconds(CheckedInteger.clamped(age, to: 0...(1 << 40)) ?? 0)
        return response
    }

    public func keep(_ key: CacheKey, _ response: CachedResponse, maxAge: Duration) {
        guard (200..<300).contains(response.status), response.body.readableBytes <= maxBytes else { return }
        let now = CheckedInteger.clamped((LocalLimitStore.epochSeconds() * 1000).rounded(), to: 0...(1 << 52)) ?? 0
        let ttl = max(1000, CheckedInteger.clamped(Double(maxAge.components.seconds) * 1000, to: 0...(1 << 40)) ?? 1000)
        client.evalsha(Self.storeScript, keys: [Self.name(key)],
                       args: [.string(String(response.status)), .string(response.contentType), .string(String(now)),
                              .bytes(response.body), .string(String(ttl))])
            .whenFailure { error in self.report.failed(error, doing: "store an answer in the cache") }
    }
}
