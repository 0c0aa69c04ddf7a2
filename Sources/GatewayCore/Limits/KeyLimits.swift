import LuaRuntime

/// What one key may use per minute: requests, and tokens (as the provider reports them, streams
/// included). Set on a gateway key given as an object, or on a virtual key:
/// `"limits": {"requests_per_minute": 600, "tokens_per_minute": 200000}`.
public struct KeyLimits: Sendable, Equatable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }

    public var isEmpty: Bool { requestsPerMinute == nil && tokensPerMinute == nil }

    /// The largest limit accepted: beyond it a window's bookkeeping would hold more than it needs
    /// to for any real deployment, and a typo of a few zeros is more likely than intent.
    static let maximum = 100_000_000

    /// Reads a `limits` object; `owner` names where it is (`virtual key 'team-a'`) in errors. Any
    /// other field is refused, and so is a limit that is not a whole number from 1 to 100,000,000.
    static func parse(_ tree: JSONTree, owner: String) throws(KeyLimitsError) -> KeyLimits {
        guard let members = tree.members else { throw KeyLimitsError("\(owner): 'limits' must be an object") }
        var limits = KeyLimits()
        for member in members {
            guard let value = member.value.int, (1...maximum).contains(value) else {
                throw KeyLimitsError("\(owner): limits.\(member.key) must be a whole number from 1 to \(maximum)")
            }
            switch member.key {
            case "requests_per_minute": limits.requestsPerMinute = value
            case "tokens_per_minute": limits.tokensPerMinute = value
            default:
                throw KeyLimitsError("\(owner): unknown limit '\(member.key)' (known: requests_per_minute, tokens_per_minute)")
            }
        }
        return limits
    }
}

/// What one key may spend in a period: `"budget": {"max_usd": 100, "period": "30d"}`. Periods are
/// counted from the Unix epoch (UTC) in whole periods, so every replica agrees when one ends (a
/// `30d` budget resets every 30 days from 1970-01-01; `1d` at midnight UTC).
public struct KeyBudget: Sendable, Equatable {
    public var maxUSD: Double
    public var periodSeconds: Int

    public init(maxUSD: Double, periodSeconds: Int) {
        self.maxUSD = maxUSD
        self.periodSeconds = periodSeconds
    }

    static func parse(_ tree: JSONTree, owner: String) throws(KeyLimitsError) -> KeyBudget {
        guard let members = tree.members else { throw KeyLimitsError("\(owner): 'budget' must be an object") }
        var maxUSD: Double?
        var period: Int?
        for member in members {
            switch member.key {
            case "max_usd":
                guard case .number(let literal) = member.value, let value = Double(literal), value.isFinite, value > 0 else {
                    throw KeyLimitsError("\(owner): budget.max_usd must be a positive number of US dollars")
                }
                maxUSD = value
            case "period":
                guard let text = member.value.string, let seconds = periodSeconds(text) else {
                    throw KeyLimitsError("\(owner): budget.period must be a number of hours, days or weeks such as \"12h\", \"30d\" or \"1w\" (at most 366 days)")
                }
                period = seconds
            default:
                throw KeyLimitsError("\(owner): unknown budget field '\(member.key)' (known: max_usd, period)")
            }
        }
        guard let maxUSD else { throw KeyLimitsError("\(owner): budget has no max_usd") }
        guard let period else { throw KeyLimitsError("\(owner): budget has no period") }
        return KeyBudget(maxUSD: maxUSD, periodSeconds: period)
    }

    /// `12h`, `30d`, `1w` in seconds, at most 366 days.
    static func periodSeconds(_ text: String) -> Int? {
        guard let unit = text.last, let count = CheckedInteger.parse(text.dropLast(), in: 1...8784) else { return nil }
        let seconds: Int
        switch unit {
        case "h": seconds = count * 3600
        case "d": seconds = count * 86_400
        case "w": seconds = count * 604_800
        default: return nil
        }
        return seconds <= 366 * 86_400 ? seconds : nil
    }
}

/// Limits per value of one field of the request's `x-portkey-metadata` (e.g. each `_user`):
/// `{"field": "_user", "limits": {"requests_per_minute": 60}}` in the settings
/// (`metadata_limits`). A request without the field is not limited by it.
public struct MetadataLimits: Sendable, Equatable {
    public var field: String
    public var limits: KeyLimits

    public init(field: String, limits: KeyLimits) {
        self.field = field
        self.limits = limits
    }

    /// Parses the setting's JSON; unknown fields are refused.
    public static func parse(json: String) throws(KeyLimitsError) -> MetadataLimits {
        guard let tree = JSONTree.parse(Array(json.utf8)), let members = tree.members else {
            throw KeyLimitsError("metadata_limits: expected an object {\"field\": …, \"limits\": {…}}")
        }
        var field: String?
        var limits: KeyLimits?
        for member in members {
            switch member.key {
            case "field":
                guard let text = member.value.string, !text.isEmpty, text.utf8.count <= 64 else {
                    throw KeyLimitsError("metadata_limits.field must be a metadata key of 1 to 64 bytes")
                }
                field = text
            case "limits":
                limits = try KeyLimits.parse(member.value, owner: "metadata_limits")
            default:
                throw KeyLimitsError("metadata_limits: unknown field '\(member.key)' (known: field, limits)")
            }
        }
        guard let field else { throw KeyLimitsError("metadata_limits has no 'field'") }
        guard let limits, !limits.isEmpty else { throw KeyLimitsError("metadata_limits has no 'limits'") }
        return MetadataLimits(field: field, limits: limits)
    }

    /// The limited key a request's metadata names, nil when it has no such field (a value that is
    /// not a string of at most 128 bytes is refused: it could not be told apart from another).
    func key(metadata: String?) throws(GatewayError) -> LimitedKey? {
        guard let metadata, let value = JSONTree.parse(Array(metadata.utf8))?[field] else { return nil }
        guard let text = value.string, !text.isEmpty, text.utf8.count <= 128 else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "x-portkey-metadata: '\(field)' is limited per value, so it must be a string of 1 to 128 bytes",
                               param: "x-portkey-metadata", code: .invalidHeader)
        }
        return LimitedKey(label: "\(field) '\(text)'", id: "md:\(field):\(text)", limits: limits)
    }
}

/// A `limits` object that cannot be honoured; the message names the key's owner and the field.
public struct KeyLimitsError: Error, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
}

/// The limits one request counts against: whose they are (a name for messages and metrics, never
/// the key itself), and the id their windows are kept under in the state store.
public struct LimitedKey: Sendable, Equatable {
    /// `gateway key 'team-a'`, `virtual key 'openai-prod'`.
    public var label: String
    /// The store's id for the key's windows (`gk:team-a`, `vk:openai-prod`); also the `key`
    /// label of the cost metric.
    public var id: String
    public var limits: KeyLimits
    public var budget: KeyBudget?

    public init(label: String, id: String, limits: KeyLimits, budget: KeyBudget? = nil) {
        self.label = label
        self.id = id
        self.limits = limits
        self.budget = budget
    }

    /// Whether requests must ask the store before they go (limits or a budget).
    public var isLimited: Bool { !limits.isEmpty || budget != nil }
}

/// What the state store answered for one request: admitted or not, and each window's standing,
/// told to the client in OpenAI's `x-ratelimit-*` headers.
public struct LimitVerdict: Sendable, Equatable {
    public struct Window: Sendable, Equatable {
        public var limit: Int
        public var remaining: Int
        /// Seconds until the window is back to its full limit.
        public var resetSeconds: Double
        /// Seconds until the window admits again (when it refused).
        public var retryAfterSeconds: Double
    }

    public var admitted: Bool
    public var requests: Window?
    public var tokens: Window?

    public init(admitted: Bool, requests: Window? = nil, tokens: Window? = nil) {
        self.admitted = admitted
        self.requests = requests
        self.tokens = tokens
    }

    /// OpenAI's headers: `x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests`
    /// and the `-tokens` trio (durations as OpenAI writes them: `1s`, `6m0s`, `250ms`).
    public var headers: [(String, String)] {
        var out: [(String, String)] = []
        for (suffix, window) in [("requests", requests), ("tokens", tokens)] {
            guard let window else { continue }
            out.append(("x-ratelimit-limit-\(suffix)", String(window.limit)))
            out.append(("x-ratelimit-remaining-\(suffix)", String(window.remaining)))
            out.append(("x-ratelimit-reset-\(suffix)", Self.duration(window.resetSeconds)))
        }
        return out
    }

    /// `Retry-After` in whole seconds, rounded up: the wait until every refusing window admits.
    public var retryAfter: Int {
        let wait = [requests, tokens].compactMap { $0 }.filter { $0.remaining <= 0 }.map(\.retryAfterSeconds).max() ?? 0
        return max(1, CheckedInteger.clamped(wait.rounded(.up), to: 0...86_400) ?? 1)
    }

    /// A duration as OpenAI's headers write it: `20ms` under a second, else `1s`, `6m0s`, `1h2m3s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds >= 1 else { return "\(CheckedInteger.clamped((seconds * 1000).rounded(.up), to: 0...1000) ?? 0)ms" }
        let whole = CheckedInteger.clamped(seconds.rounded(.up), to: 1...(1 << 40)) ?? 1
        let (hours, minutes, rest) = (whole / 3600, whole / 60 % 60, whole % 60)
        if hours > 0 { return "\(hours)h\(minutes)m\(rest)s" }
        if minutes > 0 { return "\(minutes)m\(rest)s" }
        return "\(rest)s"
    }

    /// The 429 for a refused request, in OpenAI's shape (`type` the full window, `code`
    /// `rate_limit_exceeded`), naming the key and the window; other dialects get their own shape
    /// from the status.
    func refusal(for key: LimitedKey) -> GatewayError {
        var full: [String] = []
        if let requests, requests.remaining <= 0 { full.append("\(requests.limit) requests per minute") }
        if let tokens, tokens.remaining <= 0 { full.append("\(tokens.limit) tokens per minute") }
        // OpenAI names the full window in `type` ("requests" or "tokens").
        let type: ErrorType = requests.map { $0.remaining <= 0 } == true ? "requests" : "tokens"
        var error = GatewayError(status: 429, type: type,
                                 message: "rate limit reached for \(key.label): \(full.joined(separator: " and ")); retry after \(retryAfter) s",
                                 code: .rateLimitExceeded)
        error.headers = [("retry-after", String(retryAfter))] + headers
        return error
    }
}
