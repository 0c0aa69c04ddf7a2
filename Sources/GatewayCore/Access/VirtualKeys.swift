import FoundationEssentials

/// Provider credentials held by the gateway under a name, so clients never hold provider keys:
/// `x-portkey-virtual-key: <name>` or `"virtual_key": "<name>"` in a config target.
///
/// Loaded from JSON (a file, or the `SWITCHBOARD_VIRTUAL_KEYS` environment variable):
/// `{"openai-prod": {"provider": "openai", "api_key": "sk-…", "custom_host": "…", "openai_project": "…"}}`
/// — any other string field is a provider setting. Key material never appears in logs or errors.
///
/// The key is sent only to the entry's `custom_host`, or to the provider's own base URL: a client's
/// `x-portkey-custom-host` (or an inline config's `custom_host`) with a virtual key is refused with
/// 400, unless the entry says `"allow_custom_host": true` (then the client's host, still subject to
/// the host policy, replaces the entry's). The entry's provider settings win over the client's
/// `x-portkey-*` settings of the same name (they can decide the host, e.g. a resource name).
public struct VirtualKeys: Sendable {
    public struct Entry: Sendable {
        public var provider: String
        public var apiKey: String?
        public var customHost: String?
        public var settings: [(String, String)]
        /// `"allow_custom_host": true`: clients may send this key to a host of their choosing.
        public var allowCustomHost = false
        /// `"limits": {"requests_per_minute": …, "tokens_per_minute": …}`.
        public var limits = KeyLimits()
        /// `"budget": {"max_usd": …, "period": …}`.
        public var budget: KeyBudget?
    }

    public var entries: [String: Entry]

    public init(entries: [String: Entry] = [:]) { self.entries = entries }

    /// Parses the JSON; the error names the entry and field, never a value.
    public init(json: String, knownProviders: Set<String>) throws(GatewayError) {
        func fail(_ message: String) -> GatewayError {
            GatewayError(status: 500, type: .config, message: "virtual keys: \(message)", code: .invalidVirtualKeys)
        }
        guard let object = JSONTree.parse(Array(json.utf8))?.fields else {
            throw fail("expected a JSON object of name → {provider, api_key, …}")
        }
        var entries: [String: Entry] = [:]
        for (name, raw) in object {
            guard let fields = raw.fields else { throw fail("'\(name)' must be an object") }
            guard case .string(let provider)? = fields["provider"] else { throw fail("'\(name)' needs a provider") }
            guard knownProviders.contains(provider) else { throw fail("'\(name)': unknown provider '\(provider)'") }
            var entry = Entry(provider: provider, apiKey: nil, customHost: nil, settings: [])
            for (key, field) in fields where key != "provider" {
                if key == "allow_custom_host" {
                    guard case .bool(let flag) = field else { throw fail("'\(name)'.allow_custom_host must be true or false") }
                    entry.allowCustomHost = flag
                    continue
                }
                if key == "limits" || key == "budget" {
                    do throws(KeyLimitsError) {
                        if key == "limits" {
                            entry.limits = try KeyLimits.parse(field, owner: "'\(name)'")
                        } else {
                            entry.budget = try KeyBudget.parse(field, owner: "'\(name)'")
                        }
                    } catch {
                        throw fail(error.message)
                    }
                    continue
                }
                guard case .string(let text) = field else { throw fail("'\(name)'.\(key) must be a string") }
                switch key {
                case "api_key": entry.apiKey = text
                case "custom_host": entry.customHost = text
                default: entry.settings.append((key, text))
                }
            }
            entries[name] = entry
        }
        self.entries = entries
    }

    /// A virtual key's name, limits and budget (its name labels the cost metric).
    func limitedKey(_ name: String) -> LimitedKey? {
        guard let entry = entries[name] else { return nil }
        return LimitedKey(label: "virtual key '\(name.prefix(64))'", id: "vk:" + name, limits: entry.limits, budget: entry.budget)
    }

    /// Applies a virtual key to a request's options.
    func apply(_ name: String, to options: inout RequestOptions) throws(GatewayError) {
        guard let entry = entries[name] else {
            throw GatewayError(status: 401, type: .authentication,
                               message: "unknown virtual key '\(name.prefix(64))'", param: "x-portkey-virtual-key",
                               code: .unknownVirtualKey)
        }
        options.provider = entry.provider
        options.apiKey = entry.apiKey
        options.heldCredential = HeldCredential(name: "virtual key '\(name.prefix(64))'", provider: entry.provider,
                                                allowsCustomHost: entry.allowCustomHost)
        // A client's host stays when there is one, so that it is either allowed (allow_custom_host)
        // or refused by CredentialScope, never silently replaced.
        let clientHost = options.customHost != nil && options.customHostSource == .client
        if let host = entry.customHost, !clientHost {
            options.customHost = host
            options.customHostSource = .virtualKey
        }
        for (key, value) in entry.settings {
            options.settings.removeAll { $0.0 == key }
            options.settings.append((key, value))
            options.operatorSettings.insert(key)
        }
    }
}
