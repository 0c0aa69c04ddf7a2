import FoundationEssentials
import LuaRuntime
import NIOHTTP1

/// Backoff and bounds for retries (operator settings).
public struct RetryTuning: Sendable {
    /// First retry waits about this long; each further retry doubles it, with full jitter.
    public var base: Duration
    /// No single wait is longer.
    public var cap: Duration
    /// The longest `Retry-After` honoured; a longer one is capped to this.
    public var maxRetryAfter: Duration

    public init(base: Duration = .milliseconds(250), cap: Duration = .seconds(8), maxRetryAfter: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
        self.maxRetryAfter = maxRetryAfter
    }
}

/// Runs a routing config's target tree: single, fallback, weighted load balancing, conditional
/// routing, and retries with exponential backoff per target. The attempt itself, sleeping and
/// randomness are injected, so every strategy is tested without sockets or real time.
struct RouteExecutor: Sendable {
    typealias Attempt = nonisolated(nonsending) @Sendable (RouteConfig.Target) async -> Result<GatewayResponse, GatewayError>

    let attempt: Attempt
    let sleep: nonisolated(nonsending) @Sendable (Duration) async -> Void
    let random: @Sendable () -> Double
    let tuning: RetryTuning
    /// What conditions can query: `metadata.*`, `params.*`, `url.pathname`.
    let conditionInput: JSONTree
    var cooldown: CooldownTracker? = nil
    /// Told of each retry and each move to a fallback target (metrics).
    var observe: @Sendable (Event) -> Void = { _ in }

    enum Event: Sendable, Equatable {
        case retry(provider: String)
        case fallback(fromProvider: String)
    }
    var now: @Sendable () -> ContinuousClock.Instant = { .now }

    struct Outcome: Sendable {
        var result: Result<GatewayResponse, GatewayError>
        /// The target that produced the result.
        var path: String
        var retries: Int
        /// One line per target tried, for the summary when everything fails.
        var log: [String]

        var status: Int {
            switch result {
            case .success(let response): response.status
            case .failure(let error): error.status
            }
        }

        var succeeded: Bool {
            // 101: a realtime target whose upstream accepted the WebSocket upgrade.
            if case .success(let response) = result { return (200..<300).contains(response.status) || response.status == 101 }
            return false
        }
    }

    nonisolated(nonsending) func run(_ node: RouteConfig.Target) async -> Outcome {
        guard node.isGroup else { return await leaf(node) }
        switch node.mode {
        case .single:
            return await run(node.targets[0])
        case .loadbalance:
            return await run(pick(node.targets))
        case .conditional:
            guard let chosen = choose(node) else {
                return Outcome(result: .failure(GatewayError(
                    status: 400, type: .invalidRequest,
                    message: "no condition of \(node.path) matched and it has no default target",
                    param: "x-portkey-config", code: .noRoute)), path: node.path, retries: 0, log: [])
            }
            return await run(chosen)
        case .fallback:
            var log: [String] = []
            var last: Outcome?
            for target in node.targets {
                var outcome = await run(target)
                log += outcome.log
                outcome.log = log
                if outcome.succeeded || !shouldFallBack(outcome, codes: node.onStatusCodes) { return outcome }
                if target.path != node.targets.last?.path {
                    observe(.fallback(fromProvider: Self.provider(of: target)))
                }
                last = outcome
            }
            return last!
        }
    }

    /// A leaf target with its retries.
    private nonisolated(nonsending) func leaf(_ target: RouteConfig.Target) async -> Outcome {
        let policy = target.retry ?? RouteConfig.Retry(attempts: 0, onStatusCodes: [], useRetryAfterHeader: false)
        let key = CooldownTracker.key(target)
        if let cooldown, await !Self.admitted(key, by: cooldown, now: now()) {
            var outcome = Outcome(result: .failure(GatewayError(
                status: 503, type: .server,
                message: "\(target.path) is cooling down after repeated failures", code: .coolingDown)),
                path: target.path, retries: 0, log: [])
            outcome.log = [describe(outcome, target)]
            return outcome
        }
        var retries = 0
        while true {
            let result = await attempt(target)
            var outcome = Outcome(result: result, path: target.path, retries: retries, log: [])
            if outcome.succeeded || retries >= policy.attempts || !isRetryable(outcome, codes: policy.onStatusCodes) {
                outcome.log = [describe(outcome, target)]
                cooldown?.record(key, path: target.path, provider: Self.provider(of: target),
                                 failed: countsAsFailure(outcome), now: now())
                return outcome
            }
            await sleep(delay(after: retries, outcome: outcome, policy: policy))
            retries += 1
            observe(.retry(provider: Self.provider(of: target)))
        }
    }

    /// Not cooling on another replica, and admitted here (past its own cooldown, or the probe). The
    /// shared state is asked first: a caller admitted here may become the probe, which must then run.
    private static nonisolated(nonsending) func admitted(_ key: String, by cooldown: CooldownTracker, now: ContinuousClock.Instant) async -> Bool {
        if await cooldown.sharedCooling(key) { return false }
        return cooldown.admit(key, now: now)
    }

    /// Connection failures are always retryable; statuses (a request_timeout is a 408) when listed.
    private func isRetryable(_ outcome: Outcome, codes: [Int]) -> Bool {
        if case .success(let response) = outcome.result, response.deniedBeforeRequest { return false }
        if case .failure(let error) = outcome.result, Self.isTransport(error),
           error.code != .requestTimeout, error.code != .coolingDown {
            return true
        }
        return codes.contains(outcome.status)
    }

    /// Failures that say the target is unwell (not the client's mistake): transport errors,
    /// timeouts, throttling and server errors.
    private func countsAsFailure(_ outcome: Outcome) -> Bool {
        if outcome.succeeded { return false }
        if case .failure(let error) = outcome.result, Self.isTransport(error) { return true }
        return outcome.status == 429 || outcome.status >= 500
    }

    private func shouldFallBack(_ outcome: Outcome, codes: [Int]?) -> Bool {
        if case .failure(let error) = outcome.result, Self.isTransport(error) { return true }
        guard let codes else { return true }  // default: any non-2xx
        return codes.contains(outcome.status)
    }

    /// A target's provider for metric labels (a virtual key's provider is resolved later: "virtual_key").
    static func provider(of target: RouteConfig.Target) -> String {
        target.provider ?? (target.virtualKey != nil ? "virtual_key" : "unknown")
    }

    static func isTransport(_ error: GatewayError) -> Bool {
        [ErrorCode.upstreamUnreachable, .upstreamTimeout, .requestTimeout, .upstreamError, .coolingDown].contains(error.code)
    }

    /// Exponential backoff with full jitter, capped; `Retry-After` / `retry-after-ms` when the
    /// policy honours it (bounded by `maxRetryAfter`: an upstream's `1e300`, `inf` or `1e18` waits
    /// that long at most; a negative, NaN or unreadable value is ignored and the backoff applies).
    func delay(after retries: Int, outcome: Outcome, policy: RouteConfig.Retry) -> Duration {
        if policy.useRetryAfterHeader, case .success(let response) = outcome.result {
            let cap = tuning.maxRetryAfter
            let capMilliseconds = Int(truncatingIfNeeded: cap.components.seconds) * 1000
                + Int(truncatingIfNeeded: cap.components.attoseconds / 1_000_000_000_000_000)
            if let ms = response.headers.first(name: "retry-after-ms").flatMap(Double.init), ms >= 0,
               let wait = CheckedInteger.clamped(ms, to: 0...capMilliseconds) {
                return min(.milliseconds(wait), cap)
            }
            if let seconds = response.headers.first(name: "retry-after").flatMap(Double.init), seconds >= 0,
               let wait = CheckedInteger.clamped(seconds * 1000, to: 0...capMilliseconds) {
                return min(.milliseconds(wait), cap)
            }
        }
        let exponential = tuning.base * (1 << min(retries, 20))
        let ceiling = min(exponential, tuning.cap)
        return ceiling * random()
    }

    private func pick(_ all: [RouteConfig.Target]) -> RouteConfig.Target {
        // Targets cooling down are left out of the draw while any other can be chosen.
        let instant = now()
        let available = all.filter { target in
            target.isGroup || !(cooldown?.isCooling(CooldownTracker.key(target), now: instant) ?? false)
        }
        let targets = available.contains { $0.weight > 0 } ? available : all
        let total = targets.reduce(0) { $0 + max(0, $1.weight) }
        var point = random() * total
        for target in targets where target.weight > 0 {
            point -= target.weight
            if point < 0 { return target }
        }
        return targets.last { $0.weight > 0 } ?? targets[0]
    }

    private func choose(_ node: RouteConfig.Target) -> RouteConfig.Target? {
        for condition in node.conditions
        where ConditionQuery.matches(condition.query, input: conditionInput, regexes: condition.regexes) {
            return node.targets.first { $0.name == condition.then }
        }
        guard let name = node.defaultTarget else { return nil }
        return node.targets.first { $0.name == name }
    }

    private func describe(_ outcome: Outcome, _ target: RouteConfig.Target) -> String {
        let what: String
        switch outcome.result {
        case .success(let response): what = "HTTP \(response.status)"
        case .failure(let error): what = "\(error.status) \(error.code?.rawValue ?? error.type.rawValue)"
        }
        let retries = outcome.retries > 0 ? " after \(outcome.retries) \(outcome.retries == 1 ? "retry" : "retries")" : ""
        return "\(target.path) (\(target.provider ?? "?")): \(what)\(retries)"
    }
}

/// Portkey's conditional-routing queries: `{"metadata.tier": {"$eq": "pro"}}`, `$and`/`$or`,
/// and the comparison operators `$eq $ne $gt $gte $lt $lte $in $nin $regex`. `$regex` patterns
/// were compiled by ``LinearRegex`` when the config was parsed (`regexes`, keyed by pattern).
enum ConditionQuery {
    static func matches(_ query: JSONTree, input: JSONTree, regexes: [String: LinearRegex] = [:]) -> Bool {
        guard let members = query.fields else { return false }
        for (key, condition) in members {
            switch key {
            case "$and":
                guard case .array(let parts) = condition,
                      parts.allSatisfy({ matches($0, input: input, regexes: regexes) }) else { return false }
            case "$or":
                guard case .array(let parts) = condition,
                      parts.contains(where: { matches($0, input: input, regexes: regexes) }) else { return false }
            default:
                let value = lookup(key, in: input)
                if let operators = condition.fields, operators.keys.allSatisfy({ $0.hasPrefix("$") }) {
                    for (op, expected) in operators where !compare(op, value, expected, regexes: regexes) { return false }
                } else if !compare("$eq", value, condition, regexes: regexes) {
                    return false
                }
            }
        }
        return true
    }

    static func lookup(_ path: String, in input: JSONTree) -> JSONTree? {
        var current: JSONTree? = input
        for part in path.split(separator: ".") { current = current?[String(part)] }
        return current
    }

    static func compare(_ op: String, _ value: JSONTree?, _ expected: JSONTree,
                        regexes: [String: LinearRegex] = [:]) -> Bool {
        switch op {
        case "$eq": return value.map { equal($0, expected) } ?? false
        case "$ne": return !(value.map { equal($0, expected) } ?? false)
        case "$in":
            guard case .array(let options) = expected, let value else { return false }
            return options.contains { equal(value, $0) }
        case "$nin":
            guard case .array(let options) = expected else { return false }
            return !(value.map { v in options.contains { equal(v, $0) } } ?? false)
        case "$gt", "$gte", "$lt", "$lte":
            guard let a = value.flatMap(number), let b = number(expected) else { return false }
            switch op {
            case "$gt": return a > b
            case "$gte": return a >= b
            case "$lt": return a < b
            default: return a <= b
            }
        case "$regex":
            guard case .string(let pattern)? = Optional(expected), case .string(let text)? = value else { return false }
            // Parsed configs hold every pattern compiled; compiling here is only for a query that
            // did not come through RouteConfig.parse (still linear, never the backtracking engine).
            guard let regex = regexes[pattern] ?? (try? LinearRegex(pattern)) else { return false }
            return regex.matches(text)
        default:
            return false
        }
    }

    private static func equal(_ a: JSONTree, _ b: JSONTree) -> Bool { a.sameValue(as: b) }

    private static func number(_ value: JSONTree) -> Double? {
        switch value {
        case .number(let literal): Double(literal)
        case .string(let s): Double(s)
        default: nil
        }
    }
}
