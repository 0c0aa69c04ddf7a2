/// Credentials stay with their host: a key the gateway holds (a virtual key's, or an `api_key` in
/// a named config of the `--configs` folder) is sent only to the host its operator configured with
/// it — the provider's own base URL, or the `custom_host` written next to it. A host the client
/// names (`x-portkey-custom-host`, or `custom_host` anywhere in an inline config) together with a
/// held key is refused with 400, unless the virtual key says `"allow_custom_host": true`. A held
/// key is also not lent to another provider than the one it was configured for.
///
/// Every attempt, single or routed, is checked just before its upstream request is built
/// (``Gateway/handleSingle``), after all the ways options merge (headers, virtual keys, config
/// targets and their inherited fields) have run.
public enum HostSource: Sendable, Equatable {
    /// The client: `x-portkey-custom-host`, an inline config, middleware-rewritten headers.
    case client
    /// A named config (operator-written; still checked by the host policy).
    case namedConfig
    /// A virtual key's own `custom_host` (operator-written).
    case virtualKey
}

/// A credential the gateway holds, named for messages (never its value).
public struct HeldCredential: Sendable, Equatable {
    /// `virtual key 'openai-prod'` or `config 'prod' (config.targets[0])`.
    public var name: String
    /// The provider it was configured for.
    public var provider: String?
    /// The virtual key's `allow_custom_host`.
    public var allowsCustomHost: Bool
}

enum CredentialScope {
    /// Throws 400 when this attempt would send a held credential somewhere its operator did not
    /// configure.
    /// `hostSettings`: the provider's settings that decide the upstream host (`host_settings` in its
    /// script); a client's value for one of them is a client-chosen host too.
    static func check(_ options: RequestOptions, provider: String, hostSettings: Set<String> = []) throws(GatewayError) {
        guard let held = options.heldCredential else { return }
        if options.customHost != nil, options.customHostSource == .client, !held.allowsCustomHost {
            throw GatewayError(
                status: 400, type: .invalidRequest,
                message: "a client-supplied custom host cannot be combined with \(held.name): the gateway sends a stored credential only to the host its operator configured (a virtual key can allow custom hosts with \"allow_custom_host\": true)",
                param: "x-portkey-custom-host", code: .customHostWithStoredKey)
        }
        if !held.allowsCustomHost, let name = options.settings.first(where: {
            hostSettings.contains($0.0) && !options.operatorSettings.contains($0.0)
        })?.0 {
            let header = "x-portkey-" + name.replacing("_", with: "-")
            throw GatewayError(
                status: 400, type: .invalidRequest,
                message: "a client-supplied '\(name)' (\(header), or in an inline config) decides the upstream host and cannot be combined with \(held.name): the gateway sends a stored credential only to the host its operator configured (set it in the virtual key's entry or the named config, or allow custom hosts with \"allow_custom_host\": true)",
                param: header, code: .customHostWithStoredKey)
        }
        if let own = held.provider, own != provider {
            throw GatewayError(
                status: 400, type: .invalidRequest,
                message: "\(held.name) holds a credential for provider '\(own)', not for '\(provider)'",
                param: "x-portkey-provider", code: .storedKeyProviderMismatch)
        }
    }
}
