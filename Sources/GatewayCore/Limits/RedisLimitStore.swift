public import NIOCore
import LuaRuntime
public import RedisClient

/// The windows and budgets of limited keys in Redis, so every replica counts against the same
/// ones. One round trip per key and request: a Redis-side script (`EVALSHA`) reads the key's
/// budget spend and reads and updates its two minute windows atomically, on Redis's clock
/// (`TIME`), so replicas' clocks do not matter.
///
/// Redis down or slow must not take the gateway down: a command waits at most the client's
/// timeout, then the policy decides — fail open (the default: the request goes on, a warning is
/// logged at most every 10 s, and `switchboard_limit_store_failures_total` counts it) or fail closed
/// (`limits_fail_closed`: 503 `limit_store_unavailable`). The client reconnects by itself; no
/// restart is needed when Redis is back.
public final class RedisLimitStore: LimitStore {
    let client: RedisClient
    let failClosed: Bool
    private let report: SharedRedis.Reporter

    public init(redis: SharedRedis, failClosed: Bool) {
        self.client = redis.client
        self.failClosed = failClosed
        self.report = redis.reporter("the limit store")
    }

    /// Key names share one hash tag per limited key, so a cluster keeps them in one slot.
    static func key(_ id: String, _ part: String) -> RESPArgument { .string("sb:{\(id)}:\(part)") }

    /// KEYS: the request window, the token window, the budget period's spend. ARGV: requests per
    /// minute, tokens per minute (0: none), the budget in USD ("": none). A spent budget answers
    /// {-1, spent} and counts nothing. Each window is a hash of second → count; seconds older
    /// than a minute are dropped as they are read. Otherwise returns admitted (0/1), per window
    /// used, seconds to reset and seconds until it admits again, then the spend (numbers with
    /// fractions as strings: a Lua number in a reply is truncated to an integer).
    static let checkScript = RedisScript(#"""
    local spent = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
    if ARGV[3] ~= '' and spent >= tonumber(ARGV[3]) then return {-1, tostring(spent)} end
    local t = redis.call('TIME')
    local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
    local second = tonumber(t[1])
    local function read(key)
      local all = redis.call('HGETALL', key)
      local used, live = 0, {}
      for i = 1, #all, 2 do
        local s, c = tonumber(all[i]), tonumber(all[i + 1])
        if s > second - 60 then
          used = used + c
          live[#live + 1] = {s, c}
        else
          redis.call('HDEL', key, all[i])
        end
      end
      return used, live
    end
    local function wait(live, used, target)
      if used <= target then return 0 end
      table.sort(live, function(a, b) return a[1] < b[1] end)
      for _, bucket in ipairs(live) do
        used = used - bucket[2]
        if used <= target then return bucket[1] + 60 - now end
      end
      return 60
    end
    local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
    local requests, requestBuckets = read(KEYS[1])
    local tokens, tokenBuckets = read(KEYS[2])
    local admitted = (rpm == 0 or requests < rpm) and (tpm == 0 or tokens < tpm)
    if admitted and rpm > 0 then
      redis.call('HINCRBY', KEYS[1], second, 1)
      redis.call('EXPIRE', KEYS[1], 61)
      requests = requests + 1
      requestBuckets[#requestBuckets + 1] = {second, 1}
    end
    return {admitted and 1 or 0,
            requests, tostring(wait(requestBuckets, requests, 0)), tostring(wait(requestBuckets, requests, rpm - 1)),
            tokens, tostring(wait(tokenBuckets, tokens, 0)), tostring(wait(tokenBuckets, tokens, tpm - 1)),
            tostring(spent)}
    """#)

    /// KEYS: the token window. ARGV: tokens.
    static let spendTokensScript = RedisScript(#"""
    local second = tonumber(redis.call('TIME')[1])
    redis.call('HINCRBY', KEYS[1], second, ARGV[1])
    redis.call('EXPIRE', KEYS[1], 61)
    return 1
    """#)

    /// KEYS: the period's spend. ARGV: dollars, seconds to keep it.
    static let spendBudgetScript = RedisScript(#"""
    local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    return total
    """#)

    public func check(_ key: LimitedKey, on loop: any EventLoop) -> EventLoopFuture<KeyCheck> {
        let limits = key.limits
        let now = Self.wallClock()
        let period = key.budget.map { $0.period(at: now) }
        let budgetKey = Self.key(key.id, "usd:\(period?.index ?? 0)")
        return client.evalsha(Self.checkScript, keys: [Self.key(key.id, "requests"), Self.key(key.id, "tokens"), budgetKey],
                              args: [.string(String(limits.requestsPerMinute ?? 0)), .string(String(limits.tokensPerMinute ?? 0)),
                                     .string(key.budget.map { $0.maxUSD.description } ?? "")],
                              on: loop)
            .flatMapThrowing { reply in try Self.check(reply, key: key, now: now, resetsAt: period?.endsAt ?? now) }
            .flatMapErrorThrowing { error in
                try self.storeFailed(error, doing: "check the limits of \(key.label)")
                return KeyCheck()  // fail open: nothing to tell about
            }
    }

    static func check(_ reply: RESPValue, key: LimitedKey, now: Double, resetsAt: Double) throws -> KeyCheck {
        guard let items = reply.array, let first = items.first?.int else {
            throw RedisClientError.protocolError("unexpected reply to the limits script")
        }
        func number(_ value: RESPValue) -> Double { value.string.flatMap(Double.init) ?? 0 }
        var result = KeyCheck()
        if first == -1, items.count == 2 {  // the budget is spent: nothing was counted
            result.budget = BudgetStanding(spentUSD: number(items[1]), resetsAt: resetsAt, now: now)
            return result
        }
        guard items.count == 8, let requests = items[1].int, let tokens = items[4].int else {
            throw RedisClientError.protocolError("unexpected reply to the limits script")
        }
        if key.budget != nil { result.budget = BudgetStanding(spentUSD: number(items[7]), resetsAt: resetsAt, now: now) }
        let limits = key.limits
        guard !limits.isEmpty else { return result }
        var verdict = LimitVerdict(admitted: first == 1)
        if let limit = limits.requestsPerMinute {
            verdict.requests = .init(limit: limit, remaining: max(0, limit - requests), resetSeconds: number(items[2]),
                                     retryAfterSeconds: number(items[3]))
        }
        if let limit = limits.tokensPerMinute {
            verdict.tokens = .init(limit: limit, remaining: max(0, limit - tokens), resetSeconds: number(items[5]),
                                   retryAfterSeconds: number(items[6]))
        }
        result.verdict = verdict
        return result
    }

    public func spend(_ key: LimitedKey, tokens: Int) {
        guard key.limits.tokensPerMinute != nil, tokens > 0 else { return }
        client.evalsha(Self.spendTokensScript, keys: [Self.key(key.id, "tokens")], args: [.string(String(tokens))])
            .whenFailure { error in try? self.storeFailed(error, doing: "count the tokens of \(key.label)", policyApplies: false) }
    }

    public func spend(_ key: LimitedKey, usd: Double) {
        guard let budget = key.budget, usd > 0, usd.isFinite else { return }
        let (period, endsAt) = budget.period(at: Self.wallClock())
        let keep = CheckedInteger.clamped((endsAt - Self.wallClock()).rounded(.up) + 3600, to: 60...(400 * 86_400)) ?? 86_400
        client.evalsha(Self.spendBudgetScript, keys: [Self.key(key.id, "usd:\(period)")], args: [.string(usd.description), .string(String(keep))])
            .whenFailure { error in try? self.storeFailed(error, doing: "add to the budget of \(key.label)", policyApplies: false) }
    }

    /// The policy for a store that did not answer: fail closed (503), or log (throttled), count,
    /// and go on. Spending that could not be recorded is counted and logged, and lost.
    private func storeFailed(_ error: any Error, doing what: String, policyApplies: Bool = true) throws {
        report.failed(error, doing: what, so: policyApplies && !failClosed ? "requests go on unlimited until it answers (limits fail open)" : "")
        if policyApplies && failClosed {
            throw GatewayError(status: 503, type: .server,
                               message: "the limit store is unavailable, and this gateway refuses requests it cannot count (limits_fail_closed)",
                               code: .limitStoreUnavailable)
        }
    }

    static func wallClock() -> Double { LocalLimitStore.epochSeconds() }
}
