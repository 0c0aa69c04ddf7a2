import Synchronization

/// The gateway keys and virtual keys in force, swappable while serving so an operator can rotate
/// a leaked key with `SIGHUP` (or `POST /admin/reload`) without dropping traffic.
public final class AccessKeys: Sendable {
    public struct Keys: Sendable {
        /// When not empty, every request must present one of these.
        public var gatewayKeys: [String]
        public var virtualKeys: VirtualKeys
        /// The limits of gateway keys given as objects, by the key itself.
        public var limitedGatewayKeys: [String: LimitedKey]
        /// Limits per value of a metadata field (`metadata_limits`).
        public var metadataLimits: MetadataLimits?

        public init(gatewayKeys: [String] = [], virtualKeys: VirtualKeys = VirtualKeys(),
                    limitedGatewayKeys: [String: LimitedKey] = [:], metadataLimits: MetadataLimits? = nil) {
            self.gatewayKeys = gatewayKeys
            self.virtualKeys = virtualKeys
            self.limitedGatewayKeys = limitedGatewayKeys
            self.metadataLimits = metadataLimits
        }
    }

    private let keys: Mutex<Keys>

    public init(_ keys: Keys) {
        self.keys = Mutex(keys)
    }

    /// The keys requests are checked against now.
    public var current: Keys { keys.withLock { $0 } }

    /// Puts new keys in force for requests from now on.
    public func replace(with next: Keys) {
        keys.withLock { $0 = next }
    }
}
