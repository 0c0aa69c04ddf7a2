import FoundationEssentials
public import LuaRuntime

/// A routing config in Portkey's schema (`x-portkey-config`), parsed and validated before any
/// upstream call. Parsing collects every problem with its path instead of stopping at the first,
/// so a client fixes a config in one round trip.
public struct RouteConfig: Sendable {
    public enum Mode: String, Sendable {
        case single, fallback, loadbalance, conditional
    }

    public struct Retry: Sendable, Equatable {
        /// Retries after the first attempt (Portkey's `attempts`, also accepted as `count`).
        public var attempts: Int
        public var onStatusCodes: [Int]
        public var useRetryAfterHeader: Bool

        public static let maximumAttempts = 5
        public static let defaultStatusCodes = [429, 500, 502, 503, 504]
    }

    /// One node of the target tree: a leaf names a provider, a group has its own strategy and
    /// targets. Inheritable fields are already resolved from the parents.
    public struct Target: Sendable {
        /// Where it sits, e.g. `config.targets[1].targets[0]`.
        public var path: String
        public var name: String?
        public var provider: String?
        public var apiKey: String?
        /// A virtual key's name (credentials held by the gateway).
        public var virtualKey: String?
        public var customHost: String?
        public var weight: Double
        public var retry: Retry?
        /// Per attempt, in milliseconds.
        public var requestTimeout: Int?
        /// Portkey's `cache: {"mode": "simple", "max_age": seconds}`; nil when off.
        public var cache: Cache?
        public var forwardHeaders: [String]?
        /// `override_params`, parent then child, as JSON text per top-level key.
        public var overrideParams: [(key: String, json: String)]
        /// Provider settings (`azure_resource_name`, `aws_region`, `vertex_project_id`, …).
        public var settings: [(String, String)]
        public var mode: Mode
        public var onStatusCodes: [Int]?
        public var conditions: [Condition]
        public var defaultTarget: String?
        public var targets: [Target]
        /// Guardrail and mutator hooks: the target's own, or its nearest parent's.
        public var hooks = TargetHooks()

        public var isGroup: Bool { !targets.isEmpty }
    }

    /// Exact-match response caching for the targets under it.
    public struct Cache: Sendable, Equatable {
        /// How old a stored answer may be to be served, from Portkey's `max_age` in seconds.
        public var maxAge: Duration
        /// Portkey's default `max_age`: 7 days.
        public static let defaultMaxAge = Duration.seconds(7 * 24 * 3600)
    }

    /// A conditional-routing rule: when `query` matches, route to the target named `then`.
    public struct Condition: Sendable {
        var query: JSONTree
        public var then: String
        /// Every `$regex` of the query, compiled once when the config is parsed (configs are cached).
        var regexes: [String: LinearRegex] = [:]
    }

    public var root: Target
    /// The file name of a named config (`--configs`); nil for an inline one. Keys and hosts of a
    /// named config are the operator's (see ``CredentialScope``).
    public var name: String?

    /// Keys of a target that are not provider settings.
    static let knownKeys: Set<String> = [
        "strategy", "targets", "provider", "api_key", "virtual_key", "custom_host", "weight", "name",
        "override_params", "retry", "request_timeout", "forward_headers", "cache", "on_status_codes",
    ]

    /// Portkey's hook keys (both spellings), read by ``HookParser``.
    static let hookKeys: Set<String> = Set(HookParser.keys.flatMap { [$0.snake, $0.camel] })

    /// Parses and validates a config. `knownProviders` are the provider ids of the live scripts,
    /// `plugins` the check plugins its hooks may name.
    public static func parse(_ json: String, knownProviders: Set<String>,
                             plugins: [String: PluginInfo] = [:]) throws(GatewayError) -> RouteConfig {
        guard let value = JSONTree.parse(Array(json.utf8)) else {
            throw invalid(["the config is not valid JSON"])
        }
        guard case .object = value else { throw invalid(["the config must be a JSON object"]) }
        var problems: [String] = []
        let root = target(value, path: "config", inherited: Inherited(), known: knownProviders, plugins: plugins,
                          problems: &problems)
        if problems.isEmpty, !root.isGroup, root.provider == nil, root.virtualKey == nil {
            problems.append("config: name a provider (or a virtual_key) or give targets")
        }
        guard problems.isEmpty else { throw invalid(problems) }
        return RouteConfig(root: root)
    }

    static func invalid(_ problems: [String]) -> GatewayError {
        GatewayError(status: 400, type: .invalidRequest,
                     message: "invalid x-portkey-config: " + problems.joined(separator: "; "),
                     param: "x-portkey-config", code: .invalidConfig)
    }

    /// What children take from their parents unless they set it themselves.
    struct Inherited {
        var retry: Retry?
        var requestTimeout: Int?
        var cache: Cache?
        var customHost: String?
        var forwardHeaders: [String]?
        var overrideParams: [(key: String, json: String)] = []
        var settings: [(String, String)] = []
        var hooks = TargetHooks()
    }

    private static func target(_ value: JSONTree, path: String, inherited: Inherited, known: Set<String>,
                               plugins: [String: PluginInfo], problems: inout [String]) -> Target {
        guard let object = value.fields else {
            problems.append("\(path): expected an object")
            return Target(path: path, weight: 0, overrideParams: [], settings: [], mode: .single, conditions: [], targets: [])
        }
        var inherited = inherited
        let name = string(object["name"], "\(path).name", &problems)
        let provider = string(object["provider"], "\(path).provider", &problems)?.lowercased()
        if let provider, !known.contains(provider) {
            problems.append("\(path).provider: unknown provider '\(provider)'")
        }
        let apiKey = string(object["api_key"], "\(path).api_key", &problems)
        let virtualKey = string(object["virtual_key"], "\(path).virtual_key", &problems)
        // These reach upstream headers and URLs (through the provider script): no control bytes.
        // The message names the field, never the value (it may be a key).
        for (key, value) in [("api_key", apiKey), ("virtual_key", virtualKey)] {
            if let value, let problem = WireSyntax.headerValueProblem(value) {
                problems.append("\(path).\(key): \(problem.replacing("a header value", with: "the value"))")
            }
        }
        if let host = string(object["custom_host"], "\(path).custom_host", &problems) {
            // Written into the upstream request line: a CR/LF here would split the request.
            if let problem = WireSyntax.targetProblem(host.trimmingWhitespace()) {
                problems.append("\(path).custom_host: \(problem)")
            } else {
                inherited.customHost = host
            }
        }
        var weight = 1.0
        if let raw = object["weight"] {
            if let number = number(raw), number >= 0, number.isFinite {
                weight = number
            } else {
                problems.append("\(path).weight: expected a number ≥ 0, got \(render(raw))")
            }
        }
        if let raw = object["request_timeout"] {
            if let number = number(raw), let milliseconds = CheckedInteger.exact(number, in: 1...86_400_000) {
                inherited.requestTimeout = milliseconds
            } else {
                problems.append("\(path).request_timeout: expected a positive number of milliseconds, got \(render(raw)) (a whole number up to 86400000)")
            }
        }
        if let raw = object["cache"] {
            inherited.cache = cache(raw, path: "\(path).cache", &problems)
        }
        if let raw = object["forward_headers"] {
            if case .array(let items) = raw, let names = Optional(items.compactMap { item -> String? in
                if case .string(let s) = item { return s.lowercased() }
                return nil
            }), names.count == items.count {
                inherited.forwardHeaders = names
            } else {
                problems.append("\(path).forward_headers: expected a list of header names")
            }
        }
        if let raw = object["retry"] {
            if let retry = self.retry(raw, path: "\(path).retry", &problems) { inherited.retry = retry }
        }
        if let raw = object["override_params"] {
            if let overrides = raw.fields {
                for key in overrides.keys.sorted() {
                    inherited.overrideParams.removeAll { $0.key == key }
                    inherited.overrideParams.append((key, overrides[key]!.jsonText))
                }
            } else {
                problems.append("\(path).override_params: expected an object")
            }
        }
        // A target's own hooks replace its parent's (Portkey's inheritance).
        if let hooks = HookParser.hooks(in: object, path: path, plugins: plugins, problems: &problems) {
            inherited.hooks = hooks
        }
        // Anything else with a scalar value is a provider setting (Azure, AWS, Vertex fields…).
        for key in object.keys.sorted() where !knownKeys.contains(key) && !hookKeys.contains(key) {
            switch object[key]! {
            case .string(let text) where WireSyntax.headerValueProblem(text) != nil:
                problems.append("\(path).\(key): \(WireSyntax.headerValueProblem(text)!.replacing("a header value", with: "the value"))")
            case .string, .number, .bool:
                inherited.settings.removeAll { $0.0 == key }
                inherited.settings.append((key, object[key]!.text ?? ""))
            case .null:
                continue
            case .object where key.hasSuffix("_json"):
                // A setting that carries a JSON document (Portkey's vertex_service_account_json):
                // the script gets its text.
                inherited.settings.removeAll { $0.0 == key }
                inherited.settings.append((key, object[key]!.jsonText))
            case .object, .array:
                problems.append("\(path).\(key): unknown field")
            }
        }

        var mode = RouteConfig.Mode.single
        var onStatusCodes: [Int]?
        var conditions: [Condition] = []
        var defaultTarget: String?
        if let raw = object["strategy"] {
            if let strategy = raw.fields {
                if let text = string(strategy["mode"], "\(path).strategy.mode", &problems) {
                    if let parsed = Mode(rawValue: text) {
                        mode = parsed
                    } else {
                        problems.append("\(path).strategy.mode: unknown mode '\(text)' (single, fallback, loadbalance or conditional)")
                    }
                } else {
                    problems.append("\(path).strategy.mode: required")
                }
                if let raw = strategy["on_status_codes"] {
                    onStatusCodes = statusCodes(raw, "\(path).strategy.on_status_codes", &problems)
                }
                if let raw = strategy["conditions"] {
                    if case .array(let items) = raw {
                        for (index, item) in items.enumerated() {
                            let at = "\(path).strategy.conditions[\(index)]"
                            guard let rule = item.fields, let query = rule["query"],
                                  case .string(let then)? = rule["then"] else {
                                problems.append("\(at): expected {\"query\": {...}, \"then\": \"<target name>\"}")
                                continue
                            }
                            var condition = Condition(query: query, then: then)
                            compileRegexes(query, path: "\(at).query", into: &condition.regexes, &problems)
                            conditions.append(condition)
                        }
                    } else {
                        problems.append("\(path).strategy.conditions: expected a list")
                    }
                }
                defaultTarget = string(strategy["default"], "\(path).strategy.default", &problems)
            } else {
                problems.append("\(path).strategy: expected an object")
            }
        }

        var targets: [Target] = []
        if let raw = object["targets"] {
            if case .array(let items) = raw, !items.isEmpty {
                for (index, item) in items.enumerated() {
                    targets.append(target(item, path: "\(path).targets[\(index)]", inherited: inherited, known: known,
                                          plugins: plugins, problems: &problems))
                }
            } else {
                problems.append("\(path).targets: expected a non-empty list")
            }
        } else if object["strategy"] != nil {
            problems.append("\(path).targets: a strategy needs targets")
        }
        if !targets.isEmpty && provider != nil {
            problems.append("\(path): a target has either a provider or targets, not both")
        }
        if mode == .single && targets.count > 1 {
            problems.append("\(path).strategy.mode: 'single' takes one target, got \(targets.count)")
        }
        if mode == .loadbalance && !targets.isEmpty && targets.allSatisfy({ $0.weight == 0 }) {
            problems.append("\(path).targets: every weight is 0, so nothing can be chosen")
        }
        if mode == .conditional {
            let names = Set(targets.compactMap(\.name))
            if conditions.isEmpty { problems.append("\(path).strategy.conditions: conditional routing needs conditions") }
            for (index, condition) in conditions.enumerated() where !names.contains(condition.then) {
                problems.append("\(path).strategy.conditions[\(index)].then: no target named '\(condition.then)'")
            }
            if let defaultTarget, !names.contains(defaultTarget) {
                problems.append("\(path).strategy.default: no target named '\(defaultTarget)'")
            }
        }
        return Target(
            path: path, name: name, provider: provider, apiKey: apiKey, virtualKey: virtualKey,
            customHost: inherited.customHost, weight: weight,
            retry: inherited.retry, requestTimeout: inherited.requestTimeout, cache: inherited.cache,
            forwardHeaders: inherited.forwardHeaders,
            overrideParams: inherited.overrideParams, settings: inherited.settings, mode: mode,
            onStatusCodes: onStatusCodes, conditions: conditions, defaultTarget: defaultTarget, targets: targets,
            hooks: inherited.hooks)
    }

    /// `{"mode": "simple", "max_age": 60}`; `"semantic"` is Portkey's embedding-similarity mode,
    /// which needs an embedding model and a vector store this gateway does not have: refused, not
    /// silently treated as exact-match. `{"mode": "off"}` (or `false`) turns an inherited cache off.
    private static func cache(_ raw: JSONTree, path: String, _ problems: inout [String]) -> Cache? {
        if case .bool(false) = raw { return nil }
        guard let object = raw.fields else {
            problems.append("\(path): expected an object like {\"mode\": \"simple\", \"max_age\": 3600}")
            return nil
        }
        for key in object.keys where key != "mode" && key != "max_age" {
            problems.append("\(path).\(key): unknown field (known: mode, max_age)")
        }
        switch object["mode"] {
        case .string("simple"): break
        case .string("off"), .string("disabled"): return nil
        case .string("semantic"):
            problems.append("\(path).mode: semantic caching is not supported by this gateway; use \"simple\" (exact match)")
            return nil
        default:
            problems.append("\(path).mode: expected \"simple\"")
            return nil
        }
        var maxAge = Cache.defaultMaxAge
        if let raw = object["max_age"] {
            if let seconds = number(raw), let whole = CheckedInteger.exact(seconds, in: 1...(365 * 24 * 3600)) {
                maxAge = .seconds(whole)
            } else {
                problems.append("\(path).max_age: expected a whole number of seconds between 1 and 31536000, got \(render(raw))")
            }
        }
        return Cache(maxAge: maxAge)
    }

    private static func retry(_ raw: JSONTree, path: String, _ problems: inout [String]) -> Retry? {
        guard let object = raw.fields else {
            problems.append("\(path): expected an object")
            return nil
        }
        var attempts = 0
        let given = object["attempts"] ?? object["count"]
        if let given {
            let key = object["attempts"] != nil ? "attempts" : "count"
            if let number = number(given), let count = CheckedInteger.exact(number, in: 0...Retry.maximumAttempts) {
                attempts = count
            } else if let number = number(given), number >= 0, number == number.rounded() {
                problems.append("\(path).\(key): at most \(Retry.maximumAttempts), got \(render(given))")
            } else {
                problems.append("\(path).\(key): expected a whole number ≥ 0, got \(render(given))")
            }
        }
        var codes = Retry.defaultStatusCodes
        if let raw = object["on_status_codes"], let parsed = statusCodes(raw, "\(path).on_status_codes", &problems) {
            codes = parsed
        }
        var useRetryAfter = false
        if let raw = object["use_retry_after_header"] {
            if case .bool(let flag) = raw { useRetryAfter = flag } else {
                problems.append("\(path).use_retry_after_header: expected true or false")
            }
        }
        return Retry(attempts: attempts, onStatusCodes: codes, useRetryAfterHeader: useRetryAfter)
    }

    private static func statusCodes(_ raw: JSONTree, _ path: String, _ problems: inout [String]) -> [Int]? {
        guard case .array(let items) = raw else {
            problems.append("\(path): expected a list of HTTP status codes")
            return nil
        }
        var codes: [Int] = []
        for (index, item) in items.enumerated() {
            if let number = number(item), let code = CheckedInteger.httpStatus(number) {
                codes.append(code)
            } else {
                problems.append("\(path)[\(index)]: expected an HTTP status code, got \(render(item))")
            }
        }
        return codes
    }

    /// Compiles every `$regex` in a condition query (inside `$and` / `$or` too) with the linear-time
    /// engine; a pattern it will not run is a problem naming its path and the reason.
    private static func compileRegexes(_ query: JSONTree, path: String, into regexes: inout [String: LinearRegex],
                                       _ problems: inout [String]) {
        guard let members = query.fields else { return }
        for key in members.keys.sorted() {
            let condition = members[key]!
            if key == "$and" || key == "$or" {
                guard case .array(let parts) = condition else { continue }
                for (index, part) in parts.enumerated() {
                    compileRegexes(part, path: "\(path).\(key)[\(index)]", into: &regexes, &problems)
                }
                continue
            }
            guard let operators = condition.fields, let raw = operators["$regex"],
                  operators.keys.allSatisfy({ $0.hasPrefix("$") }) else { continue }
            let at = "\(path).\(key).$regex"
            guard case .string(let pattern) = raw else {
                problems.append("\(at): expected a pattern string, got \(render(raw))")
                continue
            }
            if regexes[pattern] != nil { continue }
            do throws(LinearRegex.SyntaxError) {
                regexes[pattern] = try LinearRegex(pattern)
            } catch {
                problems.append("\(at): unsupported pattern: \(error.message)")
            }
        }
    }

    private static func string(_ raw: JSONTree?, _ path: String, _ problems: inout [String]) -> String? {
        guard let raw else { return nil }
        if case .string(let value) = raw { return value }
        if case .null = raw { return nil }
        // A key field's value is never echoed (a mistyped key is still a key).
        let secret = path.hasSuffix("api_key") || path.hasSuffix("virtual_key")
        problems.append(secret ? "\(path): expected a string" : "\(path): expected a string, got \(render(raw))")
        return nil
    }

    /// A number, or a string holding one (Portkey's documentation writes `"weight": "0.5"`).
    private static func number(_ raw: JSONTree) -> Double? {
        switch raw {
        case .number(let literal): return Double(literal)
        case .string(let text): return Double(text.trimmingWhitespace())
        default: return nil
        }
    }

    private static func render(_ raw: JSONTree) -> String {
        let text = raw.jsonText
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }
}
