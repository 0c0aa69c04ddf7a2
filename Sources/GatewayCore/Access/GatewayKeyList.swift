/// Gateway keys as a JSON list (the settings file's `gateway_keys`, `SWITCHBOARD_GATEWAY_KEYS` as
/// a JSON array, or a `{…}` line of `gateway_keys_file`): each item a key, or an object
/// `{"key": "…", "name": "team-a", "limits": {"requests_per_minute": 600, "tokens_per_minute": 200000},
/// "budget": {"max_usd": 100, "period": "30d"}}`. Keys with one name share its windows and budget.
/// The name labels the key in errors and metrics; the key itself never appears.
public enum GatewayKeyList {
    public struct Parsed: Sendable {
        public var keys: [String] = []
        /// Every named key's limits, budget and name, by the key itself.
        public var limited: [String: LimitedKey] = [:]

        public init() {}
    }

    /// Parses a JSON array; the error names the item and field, never a key.
    public static func parse(json: String) throws(KeyLimitsError) -> Parsed {
        guard let items = JSONTree.parse(Array(json.utf8))?.array else {
            throw KeyLimitsError("gateway keys: expected a JSON list of keys or {\"key\", \"name\", \"limits\"} objects")
        }
        var parsed = Parsed()
        for (index, item) in items.enumerated() {
            try add(item, at: "gateway key #\(index + 1)", to: &parsed)
        }
        return parsed
    }

    /// Adds one item: a key, or a key object.
    static func add(_ item: JSONTree, at position: String, to parsed: inout Parsed) throws(KeyLimitsError) {
        if let key = item.string {
            guard !key.isEmpty else { throw KeyLimitsError("\(position) is empty") }
            parsed.keys.append(key)
            return
        }
        guard let members = item.members else {
            throw KeyLimitsError("\(position) must be a string or an object with key, name and limits")
        }
        var key: String?
        var name: String?
        var limits = KeyLimits()
        var budget: KeyBudget?
        for member in members {
            switch member.key {
            case "key":
                guard let text = member.value.string, !text.isEmpty else { throw KeyLimitsError("\(position): 'key' must be a non-empty string") }
                key = text
            case "name":
                guard let text = member.value.string, !text.isEmpty, text.utf8.count <= 128 else {
                    throw KeyLimitsError("\(position): 'name' must be a string of 1 to 128 bytes")
                }
                name = text
            case "limits":
                limits = try KeyLimits.parse(member.value, owner: position)
            case "budget":
                budget = try KeyBudget.parse(member.value, owner: position)
            default:
                throw KeyLimitsError("\(position): unknown field '\(member.key)' (known: key, name, limits, budget)")
            }
        }
        guard let key else { throw KeyLimitsError("\(position) has no 'key'") }
        parsed.keys.append(key)
        guard let name else {
            if !limits.isEmpty || budget != nil {
                throw KeyLimitsError("\(position) has limits or a budget but no 'name': such a key needs one (its windows are kept under it)")
            }
            return
        }
        // Every named key: its name labels the cost metric even without limits.
        parsed.limited[key] = LimitedKey(label: "gateway key '\(name)'", id: "gk:" + name, limits: limits, budget: budget)
    }

    /// Parses the object text of one line of a keys file.
    public static func add(objectLine line: String, at position: String, to parsed: inout Parsed) throws(KeyLimitsError) {
        guard let item = JSONTree.parse(Array(line.utf8)), item.members != nil else {
            throw KeyLimitsError("\(position) starts with '{' but is not a JSON object")
        }
        try add(item, at: position, to: &parsed)
    }
}
