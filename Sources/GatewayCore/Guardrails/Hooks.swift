public import LuaRuntime

/// A Portkey hook (guardrail or mutator) from a config or a default-guardrails header, normalized
/// and validated against the loaded check plugins when the config is parsed: a check id with no
/// plugin, a saved-guardrail id (hosted-only in Portkey) or a malformed hook object is a 400
/// `invalid_config` naming its path, before any upstream call — never a hook that silently does
/// nothing.
public struct Hook: Sendable {
    public enum Kind: String, Sendable { case guardrail, mutator }
    public enum Event: String, Sendable {
        case beforeRequest = "beforeRequestHook"
        case afterRequest = "afterRequestHook"
    }

    public var id: String
    public var kind: Kind
    public var deny: Bool
    /// Runs without holding the request; its verdict only reaches the log and the metrics.
    public var async: Bool
    /// The checks' ids, for metrics and errors.
    public var checkIDs: [String]
    /// `on_fail.feedback` / `on_success.feedback`, reported with the verdict as Portkey does.
    var onFail: JSONTree?
    var onSuccess: JSONTree?
    /// The normalized hook object the runner (`plugins/lib/hooks.lua`) reads.
    var json: [UInt8]
}

/// The hooks of a routed target (its own, or inherited from the nearest parent that has any).
public struct TargetHooks: Sendable {
    public var before: [Hook] = []
    public var after: [Hook] = []
    public var isEmpty: Bool { before.isEmpty && after.isEmpty }
}

enum HookParser {
    /// Portkey camel-cases every config key; both spellings are read.
    static let keys: [(snake: String, camel: String)] = [
        ("before_request_hooks", "beforeRequestHooks"), ("after_request_hooks", "afterRequestHooks"),
        ("input_guardrails", "inputGuardrails"), ("output_guardrails", "outputGuardrails"),
        ("input_mutators", "inputMutators"), ("output_mutators", "outputMutators"),
    ]

    /// Keys of a shorthand item that are not check ids.
    static let shorthandKeys: Set<String> = ["deny", "on_fail", "on_success", "onFail", "onSuccess", "async", "id", "type",
                                             "sequential", "guardrail_version_id"]

    /// The hooks a config object declares, or nil when it declares none (so it inherits its parent's).
    static func hooks(in object: [String: JSONTree], path: String, plugins: [String: PluginInfo],
                      problems: inout [String]) -> TargetHooks? {
        func value(_ snake: String) -> (JSONTree, String)? {
            for (s, camel) in keys where s == snake {
                if let raw = object[s], raw != .null { return (raw, "\(path).\(s)") }
                if let raw = object[camel], raw != .null { return (raw, "\(path).\(camel)") }
            }
            return nil
        }
        let declared = keys.contains { value($0.snake) != nil }
        guard declared else { return nil }
        var hooks = TargetHooks()
        if let (raw, at) = value("before_request_hooks") {
            hooks.before += fullForm(raw, path: at, event: .beforeRequest, plugins: plugins, problems: &problems)
        }
        if let (raw, at) = value("input_guardrails") {
            hooks.before += shorthand(raw, path: at, kind: .guardrail, event: .beforeRequest, plugins: plugins, problems: &problems)
        }
        if let (raw, at) = value("input_mutators") {
            hooks.before += shorthand(raw, path: at, kind: .mutator, event: .beforeRequest, plugins: plugins, problems: &problems)
        }
        if let (raw, at) = value("after_request_hooks") {
            hooks.after += fullForm(raw, path: at, event: .afterRequest, plugins: plugins, problems: &problems)
        }
        if let (raw, at) = value("output_guardrails") {
            hooks.after += shorthand(raw, path: at, kind: .guardrail, event: .afterRequest, plugins: plugins, problems: &problems)
        }
        if let (raw, at) = value("output_mutators") {
            hooks.after += shorthand(raw, path: at, kind: .mutator, event: .afterRequest, plugins: plugins, problems: &problems)
        }
        return hooks
    }

    /// `[{type, id, checks: [{id, parameters, is_enabled}], deny, async, sequential, on_fail, on_success}]`.
    static func fullForm(_ raw: JSONTree, path: String, event: Hook.Event, plugins: [String: PluginInfo],
                         problems: inout [String]) -> [Hook] {
        guard case .array(let items) = raw else {
            problems.append("\(path): expected a list of hook objects")
            return []
        }
        var hooks: [Hook] = []
        for (index, item) in items.enumerated() {
            let at = "\(path)[\(index)]"
            guard let object = item.fields else {
                problems.append(savedGuardrailProblem(item, at) ?? "\(at): expected a hook object {\"type\", \"id\", \"checks\": [...]}")
                continue
            }
            for key in object.keys.sorted() where !["type", "id", "checks", "deny", "async", "sequential", "on_fail", "on_success",
                                                     "onFail", "onSuccess", "name", "guardrail_version_id"].contains(key) {
                problems.append("\(at).\(key): unknown field of a hook (type, id, checks, deny, async, sequential, on_fail, on_success)")
            }
            var kind = Hook.Kind.guardrail
            if let type = object["type"] {
                if let text = type.string, let parsed = Hook.Kind(rawValue: text) {
                    kind = parsed
                } else {
                    problems.append("\(at).type: expected \"guardrail\" or \"mutator\"")
                }
            }
            var checks: [(id: String, parameters: JSONTree, enabled: Bool)] = []
            if case .array(let list)? = object["checks"], !list.isEmpty {
                for (number, check) in list.enumerated() {
                    let checkPath = "\(at).checks[\(number)]"
                    guard let fields = check.fields, let id = fields["id"]?.string else {
                        problems.append("\(checkPath): expected {\"id\": \"default.regexMatch\", \"parameters\": {...}}")
                        continue
                    }
                    let parameters = fields["parameters"] ?? .object([])
                    let enabled = (fields["is_enabled"] ?? fields["isEnabled"])?.bool ?? true
                    checks.append((qualified(id), parameters, enabled))
                }
            } else {
                problems.append("\(at).checks: expected a non-empty list of checks")
            }
            if let hook = build(object, id: object["id"]?.string ?? "\(event == .beforeRequest ? "input" : "output")_hook_\(index)",
                                kind: kind, checks: checks, path: at, event: event, plugins: plugins, problems: &problems) {
                hooks.append(hook)
            }
        }
        return hooks
    }

    /// `[{"default.contains": {…parameters}, "deny": true, …}]`: every key other than the hook's
    /// own options is a check id (`default.` added when it has no dot), its value the parameters.
    static func shorthand(_ raw: JSONTree, path: String, kind: Hook.Kind, event: Hook.Event, plugins: [String: PluginInfo],
                          problems: inout [String]) -> [Hook] {
        guard case .array(let items) = raw else {
            problems.append("\(path): expected a list of guardrail objects")
            return []
        }
        var hooks: [Hook] = []
        for (index, item) in items.enumerated() {
            let at = "\(path)[\(index)]"
            guard case .object(let members) = item else {
                problems.append(savedGuardrailProblem(item, at) ?? "\(at): expected an object of checks, e.g. {\"default.contains\": {...}, \"deny\": true}")
                continue
            }
            var checks: [(id: String, parameters: JSONTree, enabled: Bool)] = []
            for member in members where !shorthandKeys.contains(member.key) {
                let enabled = member.value["is_enabled"]?.bool ?? member.value["isEnabled"]?.bool ?? true
                checks.append((qualified(member.key), member.value, enabled))
            }
            if checks.isEmpty { problems.append("\(at): names no check") }
            let object = item.fields ?? [:]
            let prefix = event == .beforeRequest ? "input" : "output"
            if let hook = build(object, id: object["id"]?.string ?? "\(prefix)_\(kind.rawValue)_\(index)", kind: kind,
                                checks: checks, path: at, event: event, plugins: plugins, problems: &problems) {
                hooks.append(hook)
            }
        }
        return hooks
    }

    /// A default-guardrails header: a JSON list in the shorthand form.
    static func header(_ text: String, name: String, event: Hook.Event, plugins: [String: PluginInfo]) throws(GatewayError) -> [Hook] {
        guard let raw = JSONTree.parse(Array(text.utf8)) else {
            throw GatewayError.invalidHeader(name, "expected a JSON list of guardrails")
        }
        var problems: [String] = []
        let hooks = shorthand(raw, path: name, kind: .guardrail, event: event, plugins: plugins, problems: &problems)
        guard problems.isEmpty else {
            throw GatewayError(status: 400, type: .invalidRequest, message: "invalid \(name): " + problems.joined(separator: "; "),
                               param: name, code: .invalidHeader)
        }
        return hooks
    }

    static func qualified(_ id: String) -> String { id.contains(".") ? id : "default." + id }

    private static func savedGuardrailProblem(_ item: JSONTree, _ at: String) -> String? {
        guard let id = item.string else { return nil }
        return "\(at): '\(id)' names a guardrail saved in Portkey's hosted app, which this gateway cannot read; write its checks inline"
    }

    private static func build(_ object: [String: JSONTree], id: String, kind: Hook.Kind,
                              checks: [(id: String, parameters: JSONTree, enabled: Bool)], path: String, event: Hook.Event,
                              plugins: [String: PluginInfo], problems: inout [String]) -> Hook? {
        let before = problems.count
        func flag(_ key: String) -> Bool {
            guard let raw = object[key], raw != .null else { return false }
            guard let value = raw.bool else {
                problems.append("\(path).\(key): expected true or false")
                return false
            }
            return value
        }
        let deny = flag("deny"), async = flag("async"), sequential = flag("sequential")
        let onFail = object["on_fail"] ?? object["onFail"]
        let onSuccess = object["on_success"] ?? object["onSuccess"]
        for (key, value) in [("on_fail", onFail), ("on_success", onSuccess)] {
            if let value, value != .null, value.fields == nil { problems.append("\(path).\(key): expected an object") }
        }
        var normalizedChecks: [JSONTree] = []
        for check in checks {
            let checkPath = "\(path).checks.\(check.id)"
            guard let plugin = plugins[check.id] else {
                let known = plugins.keys.sorted()
                problems.append("\(checkPath): no check plugin '\(check.id)' is loaded (plugins/\(check.id.replacing(".", with: "/")).lua); loaded: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
                continue
            }
            if !plugin.events.contains(event.rawValue) {
                problems.append("\(checkPath): '\(check.id)' does not run on \(event.rawValue) (it runs on \(plugin.events.sorted().joined(separator: ", ")))")
            }
            guard let parameters = check.parameters.fields else {
                problems.append("\(checkPath): the parameters must be an object")
                continue
            }
            if let declared = plugin.parameters {
                for name in parameters.keys.sorted() where declared[name] == nil && name != "is_enabled" && name != "isEnabled" {
                    problems.append("\(checkPath).\(name): '\(check.id)' has no parameter '\(name)' (it takes: \(declared.keys.sorted().joined(separator: ", ")))")
                }
                for (name, spec) in declared.sorted(by: { $0.key < $1.key }) {
                    guard let value = parameters[name], value != .null else {
                        if !spec.optional { problems.append("\(checkPath).\(name): required by '\(check.id)'") }
                        continue
                    }
                    if !matches(value, spec.type) {
                        problems.append("\(checkPath).\(name): expected \(spec.type == .integer ? "an integer" : spec.type == .array || spec.type == .object ? "an \(spec.type.rawValue)" : "a \(spec.type.rawValue)")")
                    }
                }
            }
            normalizedChecks.append(.object(pairs: [
                "id": .string(check.id), "parameters": check.parameters, "is_enabled": .bool(check.enabled),
            ]))
        }
        guard problems.count == before else { return nil }
        let json = JSONTree.object(pairs: [
            "id": .string(id), "type": .string(kind.rawValue), "deny": .bool(deny), "async": .bool(async),
            "sequential": .bool(sequential), "checks": .array(normalizedChecks),
        ])
        return Hook(id: id, kind: kind, deny: deny, async: async, checkIDs: checks.map(\.id),
                    onFail: onFail, onSuccess: onSuccess, json: json.bytes())
    }

    private static func matches(_ value: JSONTree, _ type: PluginInfo.ParameterType) -> Bool {
        switch (type, value) {
        case (.any, _): return true
        case (.string, .string), (.boolean, .bool), (.number, .number), (.array, .array), (.object, .object): return true
        case (.integer, .number): return value.int != nil
        default: return false
        }
    }
}
