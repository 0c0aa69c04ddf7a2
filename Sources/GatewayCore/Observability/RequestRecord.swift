public import NIOCore
import Synchronization

/// What one request did, gathered while it runs — provider, model, the config target that
/// answered, upstream latency, retries, tokens, cache status — for its log line and its metrics.
///
/// One record per client request, shared by reference through ``RequestOptions/record`` so every
/// routed attempt writes into the same one. Writes come from the request's task; the lock is
/// uncontended and only there because the final read happens on the connection's event loop.
public final class RequestRecord: Sendable {
    public struct Fields: Sendable {
        public var provider: String?
        /// The provider's `semconv_name` (`gen_ai.provider.name`), when its script declares one.
        public var providerConvention: String?
        public var model: String?
        /// The config path of the target that produced the answer (`config.targets[1]`).
        public var target: String?
        /// Time from sending the last attempt's request to its response head.
        public var upstreamLatency: Duration?
        /// Streams: from the request's arrival to its first chunk on the way to the client.
        public var firstChunk: Duration?
        /// Upstream requests made (1 without routing).
        public var attempts = 0
        public var retries = 0
        public var tokensIn: Int?
        public var tokensOut: Int?
        /// Cache reads counted inside `tokensIn` (OpenAI's `cached_tokens`).
        public var cachedInTokensIn: Int?
        /// Cache reads and writes beside `tokensIn` (Anthropic's `cache_read_input_tokens`,
        /// `cache_creation_input_tokens`).
        public var cacheReadTokens: Int?
        public var cacheWriteTokens: Int?
        /// What the request cost (USD) by the pricing table; nil when its model is unpriced.
        public var costUSD: Double?
        /// The name of the key the request was charged to, for the cost metric.
        public var chargedKey: String?
        /// `HIT`, `MISS`, `REFRESH` or `DISABLED`; nil when no cache config applied.
        public var cache: String?
        public var stream = false
        /// A `/v1/realtime` session's frame counts and outcome, when the request was one.
        public var realtime: RealtimeSession.Summary?
        /// The error code the client got, for failures (never a message that could echo input).
        public var errorCode: String?
        /// The guardrail hooks that ran (id, verdict), in order; retried attempts add theirs.
        public var hooks: [(id: String, verdict: Bool)] = []
        /// Run when the request finishes, with its fields (tokens known): a rate-limited key's
        /// token window is charged this way, streams included.
        public var whenFinished: [@Sendable (Fields) -> Void] = []
        /// Kept only when the operator turned body logging on.
        public var requestBody: ByteBuffer?
        public var responseBody: ByteBuffer?
    }

    public let started: ContinuousClock.Instant
    public let method: String
    /// The route as a bounded label: `/v1/chat/completions`, a scripted route's path, or `/v1/*`.
    public let route: String
    public let traceID: String
    /// Keep request and response bodies for the log line.
    public let keepBodies: Bool
    /// The request's spans, when tracing is on.
    public let trace: RequestTrace?
    private let fields = Mutex(Fields())
    /// Usage numbers can straddle two stream chunks: the unfinished last line is carried over.
    private let carry = Mutex<[UInt8]>([])

    public init(method: String, route: String, traceID: String, keepBodies: Bool = false,
                started: ContinuousClock.Instant = .now, trace: RequestTrace? = nil) {
        self.method = method
        self.route = route
        self.traceID = traceID
        self.keepBodies = keepBodies
        self.started = started
        self.trace = trace
    }

    public func update(_ change: (inout Fields) -> Void) {
        fields.withLock { change(&$0) }
    }

    public var snapshot: Fields { fields.withLock { $0 } }

    /// Notes the token counts of a complete response body.
    public func observe(body: ByteBuffer) {
        let usage = body.withUnsafeReadableBytes { bytes in
            trace?.scan(bytes)
            return UsageScanner.scan(bytes)
        }
        update { fields in
            fields.take(usage)
            if keepBodies { fields.responseBody = body }
        }
    }

    /// Notes that a stream's first chunk is going out (time to first token, as the client sees it).
    public func firstChunkSent(now: ContinuousClock.Instant = .now) {
        let elapsed = now - started
        update { if $0.firstChunk == nil { $0.firstChunk = elapsed } }
    }

    /// Notes token counts in one chunk of an event stream (OpenAI's last chunk with `usage`,
    /// Anthropic's `message_start` / `message_delta`); later numbers replace earlier ones, as both
    /// dialects report running totals.
    public func observe(chunk: ByteBuffer) {
        if let trace { chunk.withUnsafeReadableBytes { trace.scan($0) } }
        let usage: UsageScanner.Usage = carry.withLock { carry in
            chunk.withUnsafeReadableBytes { bytes in
                guard let lastNewline = bytes.lastIndex(of: UInt8(ascii: "\n")) else {
                    if carry.count + bytes.count <= UsageScanner.maxCarry { carry.append(contentsOf: bytes) } else { carry = [] }
                    return UsageScanner.Usage()
                }
                var usage: UsageScanner.Usage
                if carry.isEmpty {
                    usage = UsageScanner.scan(UnsafeRawBufferPointer(rebasing: bytes[..<lastNewline]))
                } else {
                    carry.append(contentsOf: bytes[..<lastNewline])
                    usage = carry.withUnsafeBytes { UsageScanner.scan($0) }
                    carry.removeAll(keepingCapacity: true)
                }
                let rest = bytes[(lastNewline + 1)...]
                if rest.count <= UsageScanner.maxCarry { carry.append(contentsOf: rest) }
                return usage
            }
        }
        guard usage != UsageScanner.Usage() else { return }
        update { fields in
            fields.take(usage)
        }
    }
}

extension RequestRecord.Fields {
    /// Takes what a usage object says; later numbers replace earlier ones (running totals).
    mutating func take(_ usage: UsageScanner.Usage) {
        if let input = usage.input { tokensIn = input }
        if let output = usage.output { tokensOut = output }
        if let cached = usage.cachedInInput { cachedInTokensIn = cached }
        if let read = usage.cacheRead { cacheReadTokens = read }
        if let written = usage.cacheWritten { cacheWriteTokens = written }
    }

    /// The token counts the pricing table bills, nil until the provider reported any.
    public var pricedUsage: PricingTable.Usage? {
        guard tokensIn != nil || tokensOut != nil else { return nil }
        let cachedIn = min(cachedInTokensIn ?? 0, tokensIn ?? 0)
        return PricingTable.Usage(uncached: (tokensIn ?? 0) - cachedIn, cacheRead: cachedIn + (cacheReadTokens ?? 0),
                                  cacheWritten: cacheWriteTokens ?? 0, output: tokensOut ?? 0)
    }
}
