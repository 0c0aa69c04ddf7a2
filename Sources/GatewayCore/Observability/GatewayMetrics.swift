public import CoreMetrics
import Synchronization
import LuaRuntime

/// The gateway's metrics, through swift-metrics: the executable bootstraps the Prometheus backend
/// (swift-prometheus) and serves it on `GET /metrics`; tests pass a test factory.
///
/// Label values come from bounded sets (routes the gateway knows, provider ids, statuses), except
/// the model, which the client chooses: after ``maxModels`` distinct models the rest are counted as
/// `other`, so a client cannot grow the series without bound.
public struct GatewayMetrics: Sendable {
    /// Metric names, for the exposition's help text and the README.
    public enum Name {
        public static let requests = "switchboard_requests_total"
        public static let requestDuration = "switchboard_request_duration_seconds"
        public static let upstreamDuration = "switchboard_upstream_duration_seconds"
        public static let firstChunk = "switchboard_stream_first_chunk_seconds"
        public static let retries = "switchboard_retries_total"
        public static let fallbacks = "switchboard_fallbacks_total"
        public static let cooldowns = "switchboard_cooldowns_total"
        public static let tokens = "switchboard_tokens_total"
        public static let activeStreams = "switchboard_active_streams"
        public static let scriptErrors = "switchboard_script_errors_total"
        public static let reloads = "switchboard_reloads_total"
        public static let cache = "switchboard_cache_requests_total"
        public static let cacheBytes = "switchboard_cache_bytes"
        public static let cacheEntries = "switchboard_cache_entries"
        public static let cacheEvictions = "switchboard_cache_evictions_total"
        public static let requestLogDropped = "switchboard_request_log_dropped_total"
        public static let connectionsCut = "switchboard_client_connections_cut_total"
        public static let guardrailChecks = "switchboard_guardrail_checks_total"
        public static let guardrailCheckDuration = "switchboard_guardrail_check_duration_seconds"
        public static let cost = "switchboard_cost_usd_total"
        public static let unpriced = "switchboard_unpriced_requests_total"
        public static let rateLimited = "switchboard_rate_limited_total"
        public static let limitStoreFailures = "switchboard_limit_store_failures_total"
    }

    /// One line each, for `# HELP`.
    public static let help: [String: String] = [
        Name.requests: "Requests answered, by route, provider and HTTP status.",
        Name.requestDuration: "Time from a request's arrival to the end of its response (streams: last byte).",
        Name.upstreamDuration: "Time from sending an upstream request to its response head, per attempt.",
        Name.firstChunk: "Streams: time from a request's arrival to its first chunk sent to the client (time to first token).",
        Name.retries: "Retries of a routed target (not counting the first attempt).",
        Name.fallbacks: "Moves from a failed target to the next one in a fallback config.",
        Name.cooldowns: "Times a target started cooling down after repeated failures.",
        Name.tokens: "Tokens reported by providers, by provider, model and direction (input/output).",
        Name.activeStreams: "Event streams being sent to clients now.",
        Name.scriptErrors: "Lua script failures, by kind (provider, middleware, route).",
        Name.reloads: "Reloads of scripts and routing configs, by kind and result.",
        Name.cache: "Response cache lookups, by status (hit, miss, refresh).",
        Name.cacheBytes: "Bytes held by the response cache.",
        Name.cacheEntries: "Answers held by the response cache.",
        Name.cacheEvictions: "Responses evicted from the cache to stay within its byte bound.",
        Name.requestLogDropped: "Request log lines dropped because the log destination did not keep up.",
        Name.connectionsCut: "Client connections refused or cut by a limit, by reason (too_many_connections, head_timeout).",
        Name.guardrailChecks: "Guardrail check runs, by check id and verdict (pass, fail, error).",
        Name.guardrailCheckDuration: "Time one guardrail check took, by check id.",
        Name.cost: "What requests cost in USD by the pricing table, by provider, model and the key charged (none without one).",
        Name.unpriced: "Requests with token usage whose model is not in the pricing table, by provider and model.",
        Name.rateLimited: "Requests refused by a key's limits, by key name and window (requests, tokens, budget).",
        Name.limitStoreFailures: "Commands to the shared limit store (Redis) that failed or timed out; limits fail open unless limits_fail_closed.",
        Name.realtimeSessions: "Realtime WebSocket sessions, by provider and outcome (client_closed, upstream_closed, upstream_lost, client_lost, shutdown, refused).",
        Name.realtimeActive: "Realtime WebSocket sessions open now.",
        Name.realtimeFrames: "WebSocket frames relayed by realtime sessions, by provider and direction (to_upstream, to_client).",
        Name.realtimeBytes: "WebSocket payload bytes relayed by realtime sessions, by provider and direction.",
    ]

    /// The OpenTelemetry GenAI semantic conventions' metrics, exported over OTLP when configured.
    public enum GenAIName {
        public static let tokenUsage = "gen_ai.client.token.usage"
        public static let operationDuration = "gen_ai.client.operation.duration"
        public static let timeToFirstToken = "gen_ai.server.time_to_first_token"
        public static let timePerOutputToken = "gen_ai.server.time_per_output_token"

        /// The bucket boundaries the conventions advise for each (seconds, or tokens).
        public static let buckets: [String: [Double]] = [
            tokenUsage: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864],
            operationDuration: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
            timeToFirstToken: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
            timePerOutputToken: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5],
        ]
    }

    public static let maxModels = 200

    let factory: any MetricsFactory
    /// Where the GenAI metrics go (the OTLP exporter); nil: they are not made.
    let genAI: (any MetricsFactory)?
    private let models = ModelLabels()
    private let handles = Handles()

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance, genAI: (any MetricsFactory)? = nil) {
        self.factory = factory
        self.genAI = genAI
    }

    /// A GenAI operation's metrics, by the semantic conventions: its duration, its tokens by type,
    /// and for streams the time to the first token and per output token after it.
    func genAIFinished(operation: String, fields: RequestRecord.Fields, duration: Duration) {
        guard let genAI else { return }
        let provider = fields.providerConvention ?? fields.provider ?? "none"
        let model = models.label(fields.model ?? "unknown")
        let failed = fields.errorCode
        let dimensions = [("gen_ai.operation.name", operation), ("gen_ai.provider.name", provider),
                          ("gen_ai.request.model", model)]
        func seconds(_ name: String, _ value: Duration, kind: Handles.Kind, error: String = "") {
            var labels = dimensions
            if !error.isEmpty { labels.append(("error.type", error)) }
            handles.recorder(.init(kind: kind, a: provider, b: model, c: operation + "\u{1}" + error)) {
                Recorder(label: name, dimensions: labels, aggregate: true, factory: genAI)
            }.record(Double(value.nanoseconds) / 1e9)
        }
        seconds(GenAIName.operationDuration, duration, kind: .genAIDuration, error: failed ?? "")
        if let first = fields.firstChunk {
            seconds(GenAIName.timeToFirstToken, first, kind: .genAIFirstToken)
            if let output = fields.tokensOut, output > 1, duration > first {
                seconds(GenAIName.timePerOutputToken, (duration - first) / (output - 1), kind: .genAIPerToken)
            }
        }
        for (count, type) in [(fields.tokensIn, "input"), (fields.tokensOut, "output")] {
            guard let count else { continue }
            handles.recorder(.init(kind: .genAITokens, a: provider, b: model, c: operation + "\u{1}" + type)) {
                Recorder(label: GenAIName.tokenUsage, dimensions: dimensions + [("gen_ai.token.type", type)], aggregate: true,
                         factory: genAI)
            }.record(count)
        }
    }

    /// A request's final outcome, with its tokens.
    public func requestFinished(route: String, provider: String?, status: Int, duration: Duration,
                                model: String?, tokensIn: Int?, tokensOut: Int?) {
        let provider = provider ?? "none"
        handles.counter(.init(kind: .requests, a: route, b: provider, number: status)) {
            Counter(label: Name.requests, dimensions: [("route", route), ("provider", provider), ("status", String(status))],
                    factory: factory)
        }.increment()
        handles.timer(.init(kind: .requestDuration, a: route, b: provider)) {
            Timer(label: Name.requestDuration, dimensions: [("route", route), ("provider", provider)], factory: factory)
        }.recordNanoseconds(duration.nanoseconds)
        guard tokensIn != nil || tokensOut != nil else { return }
        let model = models.label(model ?? "unknown")
        for (count, direction) in [(tokensIn, "input"), (tokensOut, "output")] {
            guard let count, count > 0 else { continue }
            handles.counter(.init(kind: .tokens, a: provider, b: model, c: direction)) {
                Counter(label: Name.tokens, dimensions: [("provider", provider), ("model", model), ("direction", direction)],
                        factory: factory)
            }.increment(by: count)
        }
    }

    public func firstChunk(provider: String, after duration: Duration) {
        handles.timer(.init(kind: .firstChunk, a: provider)) {
            Timer(label: Name.firstChunk, dimensions: [("provider", provider)], factory: factory)
        }.recordNanoseconds(duration.nanoseconds)
    }

    /// One check of a hook ran (`verdict`: pass, fail or error). Check ids are plugin ids, a bounded set.
    public func guardrailCheck(check: String, verdict: String, milliseconds: Double) {
        handles.counter(.init(kind: .guardrailChecks, a: check, b: verdict)) {
            Counter(label: Name.guardrailChecks, dimensions: [("check", check), ("verdict", verdict)], factory: factory)
        }.increment()
        handles.timer(.init(kind: .guardrailCheckDuration, a: check)) {
            Timer(label: Name.guardrailCheckDuration, dimensions: [("check", check)], factory: factory)
        }.recordNanoseconds(Int64(truncatingIfNeeded: CheckedInteger.clamped(milliseconds * 1_000_000, to: 0...3_600_000_000_000) ?? 0))
    }

    public func upstreamResponded(provider: String, after duration: Duration) {
        handles.timer(.init(kind: .upstreamDuration, a: provider)) {
            Timer(label: Name.upstreamDuration, dimensions: [("provider", provider)], factory: factory)
        }.recordNanoseconds(duration.nanoseconds)
    }

    /// A priced request's cost.
    public func costAdded(provider: String, model: String, key: String, usd: Double) {
        let model = models.label(model)
        handles.floatingCounter(.init(kind: .cost, a: provider, b: model, c: key)) {
            FloatingPointCounter(label: Name.cost, dimensions: [("provider", provider), ("model", model), ("key", key)],
                                 factory: factory)
        }.increment(by: usd)
    }

    /// A request with usage whose model has no price.
    public func unpriced(provider: String, model: String) {
        let model = models.label(model)
        handles.counter(.init(kind: .unpriced, a: provider, b: model)) {
            Counter(label: Name.unpriced, dimensions: [("provider", provider), ("model", model)], factory: factory)
        }.increment()
    }

    /// A command to the shared limit store failed.
    public func limitStoreFailed() {
        Counter(label: Name.limitStoreFailures, dimensions: [], factory: factory).increment()
    }

    /// A request refused by a key's limits (`window`: requests, tokens or budget).
    public func rateLimited(key: String, window: String) {
        Counter(label: Name.rateLimited, dimensions: [("key", key), ("window", window)], factory: factory).increment()
    }

    public func retried(provider: String) {
        Counter(label: Name.retries, dimensions: [("provider", provider)], factory: factory).increment()
    }

    public func fellBack(from provider: String) {
        Counter(label: Name.fallbacks, dimensions: [("from_provider", provider)], factory: factory).increment()
    }

    public func cooldownStarted(provider: String) {
        Counter(label: Name.cooldowns, dimensions: [("provider", provider)], factory: factory).increment()
    }

    public func scriptFailed(kind: String) {
        Counter(label: Name.scriptErrors, dimensions: [("kind", kind)], factory: factory).increment()
    }

    /// - Parameter kind: `scripts` or `configs`.
    public func reloaded(kind: String, succeeded: Bool) {
        Counter(label: Name.reloads, dimensions: [("kind", kind), ("result", succeeded ? "success" : "failure")],
                factory: factory).increment()
    }

    public func cacheLookup(_ status: String) {
        Counter(label: Name.cache, dimensions: [("status", status.lowercased())], factory: factory).increment()
    }

    public func cacheState(bytes: Int, entries: Int, evictionsSinceLast: Int) {
        Meter(label: Name.cacheBytes, dimensions: [], factory: factory).set(bytes)
        Meter(label: Name.cacheEntries, dimensions: [], factory: factory).set(entries)
        if evictionsSinceLast > 0 {
            Counter(label: Name.cacheEvictions, dimensions: [], factory: factory).increment(by: evictionsSinceLast)
        }
    }

    public func streamOpened() {
        Meter(label: Name.activeStreams, dimensions: [], factory: factory).increment()
    }

    public func streamClosed() {
        Meter(label: Name.activeStreams, dimensions: [], factory: factory).decrement()
    }

    public func requestLogDropped(_ lines: Int) {
        Counter(label: Name.requestLogDropped, dimensions: [], factory: factory).increment(by: lines)
    }

    /// A client connection refused (over `max_connections`) or cut before a request (head deadline).
    public func clientConnectionCut(reason: String) {
        Counter(label: Name.connectionsCut, dimensions: [("reason", reason)], factory: factory).increment()
    }
}

/// Metric handles already made, by their label values: making one per request goes through the
/// registry's lock, its label-set dictionary and a help-text check (5 % of the gateway's CPU in a
/// profile before this cache). The label values are bounded (see ``GatewayMetrics``), so is this.
private final class Handles: Sendable {
    enum Kind: UInt8 {
        case requests, requestDuration, upstreamDuration, firstChunk, tokens, guardrailChecks, guardrailCheckDuration, cost, unpriced
        case genAIDuration, genAIFirstToken, genAIPerToken, genAITokens
    }

    struct Key: Hashable {
        var kind: Kind
        var a: String
        var b = ""
        var c = ""
        var number = 0
    }

    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: Timer]>([:])
    private let floatingCounters = Mutex<[Key: FloatingPointCounter]>([:])
    private let recorders = Mutex<[Key: Recorder]>([:])

    func recorder(_ key: Key, make: () -> Recorder) -> Recorder { Self.handle(key, in: recorders, make: make) }

    func floatingCounter(_ key: Key, make: () -> FloatingPointCounter) -> FloatingPointCounter {
        Self.handle(key, in: floatingCounters, make: make)
    }
    func counter(_ key: Key, make: () -> Counter) -> Counter { Self.handle(key, in: counters, make: make) }
    func timer(_ key: Key, make: () -> Timer) -> Timer { Self.handle(key, in: timers, make: make) }

    /// The handle made for `key` before, or one made now (outside the lock: the registry takes
    /// its own) and kept.
    private static func handle<Handle: Sendable>(_ key: Key, in table: borrowing Mutex<[Key: Handle]>, make: () -> Handle) -> Handle {
        if let found = table.withLock({ $0[key] }) { return found }
        let made = make()
        return table.withLock { table in
            if let found = table[key] { return found }
            table[key] = made
            return made
        }
    }
}

/// The models seen so far, up to ``GatewayMetrics/maxModels``.
private final class ModelLabels: Sendable {
    private let seen = Mutex<Set<String>>([])

    func label(_ model: String) -> String {
        seen.withLock { seen in
            if seen.contains(model) { return model }
            guard seen.count < GatewayMetrics.maxModels, model.utf8.count <= 128 else { return "other" }
            seen.insert(model)
            return model
        }
    }
}
