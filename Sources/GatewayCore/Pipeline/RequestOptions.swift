public import NIOHTTP1
import FoundationEssentials
import LuaRuntime

/// What the Portkey-compatible `x-portkey-*` headers and `Authorization` say about one request.
public struct RequestOptions: Sendable {
    public var provider: String?
    /// The provider key from `Authorization: Bearer <key>`.
    public var apiKey: String?
    /// Validated base URL replacing the provider's default.
    public var customHost: String?
    /// Lowercased names of incoming headers to copy upstream.
    public var forwardHeaders: [String]
    /// `x-portkey-request-timeout` in milliseconds.
    public var timeoutMilliseconds: Int?
    public var traceID: String
    /// Provider settings: every other `x-portkey-<name>` header as `name_with_underscores`.
    public var settings: [(String, String)]
    /// `x-portkey-config`: an inline routing config (JSON).
    public var config: String?
    /// `x-portkey-metadata`: JSON metadata, used by conditional routing.
    public var metadata: String?
    /// `x-portkey-api-key`: the gateway key, when gateway keys are configured.
    public var gatewayKey: String?
    /// `x-portkey-virtual-key`: the name of credentials held by the gateway.
    public var virtualKey: String?
    /// `x-portkey-cache-force-refresh: true`: skip the cached answer and store a fresh one.
    public var cacheForceRefresh = false
    /// What this request did, for its log line and metrics (shared by all its routed attempts).
    public var record: RequestRecord?
    /// The config path of the target this attempt serves (`config.targets[1]`), for its span.
    public var targetPath: String?
    /// Who chose `customHost` (see ``CredentialScope``).
    public var customHostSource = HostSource.client
    /// The server-held credential in use (a virtual key's or a named config's); nil when the key,
    /// if any, is the client's own.
    public var heldCredential: HeldCredential?
    /// `x-portkey-default-input-guardrails` / `-output-guardrails`: JSON lists of guardrails (the
    /// shorthand form) run for every target after its own hooks; parsed against the generation's
    /// plugins by the hook stage.
    public var defaultInputGuardrails: String?
    public var defaultOutputGuardrails: String?
    /// `x-portkey-strict-open-ai-compliance: false`: a stream may carry Portkey's `hook_results` event.
    public var strictOpenAICompliance = true
    /// Names of `settings` whose value the operator wrote (a virtual key's entry, a named config);
    /// every other setting is the client's (see ``CredentialScope``).
    public var operatorSettings: Set<String> = []

    /// Headers the gateway reads itself (never settings, never forwarded).
    static let reserved: Set<String> = [
        "x-portkey-provider", "x-portkey-custom-host", "x-portkey-forward-headers", "x-portkey-request-timeout",
        "x-portkey-trace-id", "x-portkey-config", "x-portkey-api-key", "x-portkey-metadata",
        "x-portkey-virtual-key", "x-portkey-cache-force-refresh", "x-portkey-retry-count",
        "x-portkey-default-input-guardrails", "x-portkey-default-output-guardrails", "x-portkey-strict-open-ai-compliance",
    ]

    public static func parse(_ headers: HTTPHeaders, policy: CustomHostPolicy) throws(GatewayError) -> RequestOptions {
        var provider: String?
        var customHost: String?
        var forward: [String] = []
        var timeout: Int?
        var traceID: String?
        var settings: [(String, String)] = []
        var apiKey: String?
        var config: String?
        var metadata: String?
        var gatewayKey: String?
        var virtualKey: String?
        var forceRefresh = false
        var defaultInput: String?
        var defaultOutput: String?
        var strict = true

        for (rawName, rawValue) in headers {
            // Only `authorization`, `x-api-key` and `x-portkey-*` matter here: names are matched in
            // place, and only an `x-portkey-*` name is lowercased into a new string (when it has
            // capitals) for the switch below.
            switch rawName.utf8.first {
            case UInt8(ascii: "a"), UInt8(ascii: "A"), UInt8(ascii: "x"), UInt8(ascii: "X"): break
            default: continue
            }
            if rawName.hasPrefix(ignoringASCIICase: "authorization", whole: true) {
                // "Bearer " in any case, compared in place (String.count and lowercased() walked
                // the key's grapheme clusters on every request).
                if rawValue.utf8.count > 7, rawValue.hasPrefix(ignoringASCIICase: "bearer ") {
                    apiKey = String(Substring(rawValue.utf8.dropFirst(7))).trimmingWhitespace()
                } else {
                    apiKey = rawValue.trimmingWhitespace()
                }
                continue
            }
            if rawName.hasPrefix(ignoringASCIICase: "x-api-key", whole: true) {
                // Anthropic's SDK sends its key here; Authorization wins when both are present.
                if apiKey == nil { apiKey = rawValue.trimmingWhitespace() }
                continue
            }
            guard rawName.hasPrefix(ignoringASCIICase: "x-portkey-") else { continue }
            let name = rawName.asciiLowercased()
            let value = rawValue.trimmingWhitespace()
            switch name {
            case "x-portkey-provider":
                provider = value.asciiLowercased()
            case "x-portkey-custom-host":
                if !value.isEmpty { customHost = try policy.validate(value) }
            case "x-portkey-forward-headers":
                forward = value.split(separator: ",").map { String($0).trimmingWhitespace().lowercased() }.filter { !$0.isEmpty }
            case "x-portkey-request-timeout":
                // Capped like a config's request_timeout: a larger number overflowed the deadline
                // arithmetic (a trap) before it was checked.
                guard let ms = CheckedInteger.parse(value, in: 1...86_400_000) else {
                    throw GatewayError.invalidHeader(name, "expected a whole number of milliseconds between 1 and 86400000, got '\(value)'")
                }
                timeout = ms
            case "x-portkey-trace-id":
                guard value.utf8.count <= 256 else { throw GatewayError.invalidHeader(name, "longer than 256 bytes") }
                // An empty header is no trace id (one is generated), never an empty one in logs
                // and on the response (found by the `head` fuzz target).
                if !value.isEmpty { traceID = value }
            case "x-portkey-config":
                if !value.isEmpty { config = value }
            case "x-portkey-metadata":
                if !value.isEmpty { metadata = value }
            case "x-portkey-api-key":
                if !value.isEmpty { gatewayKey = value }
            case "x-portkey-virtual-key":
                if !value.isEmpty { virtualKey = value }
            case "x-portkey-cache-force-refresh":
                forceRefresh = value.lowercased() == "true" || value == "1"
            case "x-portkey-default-input-guardrails":
                if !value.isEmpty { defaultInput = value }
            case "x-portkey-default-output-guardrails":
                if !value.isEmpty { defaultOutput = value }
            case "x-portkey-strict-open-ai-compliance":
                strict = value.lowercased() != "false"
            default:
                if !reserved.contains(name) {
                    settings.append((String(name.dropFirst(10).replacing("-", with: "_")), value))
                }
            }
        }
        if let key = apiKey, key.isEmpty { apiKey = nil }
        var options = RequestOptions(
            provider: provider, apiKey: apiKey, customHost: customHost, forwardHeaders: forward,
            timeoutMilliseconds: timeout, traceID: traceID ?? Self.newTraceID(), settings: settings, config: config,
            metadata: metadata, gatewayKey: gatewayKey, virtualKey: virtualKey)
        options.cacheForceRefresh = forceRefresh
        options.defaultInputGuardrails = defaultInput
        options.defaultOutputGuardrails = defaultOutput
        options.strictOpenAICompliance = strict
        return options
    }

    static func newTraceID() -> String {
        TraceID.next()
    }
}
