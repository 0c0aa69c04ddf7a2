public import LuaRuntime
public import Logging
import Synchronization

/// Holds the live script generation and builds new ones.
///
/// Building happens outside the lock; only the swap is under it (swap, don't lock long). A request
/// takes the current generation once and keeps it, so it finishes on the scripts it started with.
public final class ScriptHost: Sendable {
    public struct Locations: Sendable {
        public var providers: String
        public var scripts: String?
        public init(providers: String, scripts: String?) {
            self.providers = providers
            self.scripts = scripts
        }
    }

    public let locations: Locations
    public let limits: LuaLimits
    public let vmCount: Int
    private let logger: Logger
    private let state: Mutex<ScriptGeneration>

    /// Loads the first generation; throws if any script is broken.
    public init(locations: Locations, limits: LuaLimits, vmCount: Int, logger: Logger) throws {
        self.locations = locations
        self.limits = limits
        self.vmCount = vmCount
        self.logger = logger
        let sources = try ScriptSources.read(providersDirectory: locations.providers, scriptsDirectory: locations.scripts)
        let first = try ScriptGeneration.build(number: 1, sources: sources, vmCount: vmCount, limits: limits, logger: logger)
        self.state = Mutex(first)
    }

    /// The generation new requests should use.
    public var current: ScriptGeneration { state.withLock { $0 } }
}
