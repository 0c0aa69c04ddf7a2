import NIOHTTP1

extension Gateway {
    /// Options for headers a script produced — middleware's `proceed`, or a scripted route's
    /// `gw.route` — read like a client's: the virtual key they name is applied (with the provenance
    /// ``CredentialScope`` checks), exactly as ``handle(_:options:)`` does for the client's headers.
    /// Hosts and settings in them count as the client's.
    func scriptOptions(_ headers: HTTPHeaders, traceID: String, record: RequestRecord?) throws(GatewayError) -> RequestOptions {
        var options = try RequestOptions.parse(headers, policy: settings.hostPolicy)
        options.traceID = traceID
        options.record = record
        let keys = self.keys.current
        if let bearer = options.apiKey, !keys.gatewayKeys.isEmpty,
           keys.gatewayKeys.reduce(false, { found, key in constantTimeEquals(bearer, key) || found }) {
            // The gateway key presented as Authorization (``authorize`` dropped it already for the
            // client's headers): it is never a provider key.
            options.apiKey = nil
        }
        if let name = options.virtualKey {
            try keys.virtualKeys.apply(name, to: &options)
        }
        return options
    }
}
