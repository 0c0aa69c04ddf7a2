public import LuaRuntime
public import Logging
import Synchronization
public import FoundationEssentials

/// Holds the live script generation and builds new ones.
///
/// Building happens outside the lock; only the swap is under it (swap, don't lock long). A request
/// takes the current generation once and keeps it, so it finishes on the scripts it started with.
public final class ScriptHost: Sendable {
    public struct Locations: Sendable {
        public var providers: String
        public var scripts: String?
        /// Check plugins (`<namespace>/<name>.lua`, `lib/`); a missing folder means none.
        public var plugins: String?
        public init(providers: String, scripts: String?, plugins: String? = nil) {
            self.providers = providers
            self.scripts = scripts
            self.plugins = plugins
        }

        func read() throws(LuaError) -> ScriptSources {
            try ScriptSources.read(providersDirectory: providers, scriptsDirectory: scripts, pluginsDirectory: plugins)
        }
    }

    public let locations: Locations
    public let limits: LuaLimits
    public let vmCount: Int
    /// The store behind the scripts' `gw.store`, shared by every generation.
    public let store: ScriptStore?
    private let logger: Logger
    private let metrics: GatewayMetrics
    private let state: Mutex<ScriptGeneration>
    /// Serializes reloads (a build is slow; two at once would race on the generation number).
    private let reloading = Mutex<Status>(Status())

    /// What `GET /admin/scripts` shows about reloads.
    public struct Status: Sendable {
        public var reloads = 0
        public var failedReloads = 0
        /// The last failure (file:line message), cleared by the next successful reload.
        public var lastError: String?
        public var lastReloadAt: Date?
        /// Fingerprint of the files the live generation was built from.
        var fingerprint = ""
    }

    /// Loads the first generation; throws if any script is broken.
    /// `store` backs `gw.store` in every generation (so what scripts keep survives reloads).
    public init(locations: Locations, limits: LuaLimits, vmCount: Int, logger: Logger,
                metrics: GatewayMetrics = GatewayMetrics(), store: ScriptStore? = nil) throws {
        self.metrics = metrics
        self.store = store
        self.locations = locations
        self.limits = limits
        self.vmCount = vmCount
        self.logger = logger
        let sources = try locations.read()
        let first = try ScriptGeneration.build(number: 1, sources: sources, vmCount: vmCount, limits: limits, logger: logger,
                                              store: store)
        self.state = Mutex(first)
        reloading.withLock { $0.fingerprint = Self.fingerprint(locations) }
    }

    public var status: Status { reloading.withLock { $0 } }

    /// Builds and validates a complete new generation from the files and swaps it in; a broken
    /// file leaves the live generation as it is. Requests in flight keep the generation they
    /// started on; its VMs close when the last of them ends.
    @discardableResult
    public func reload(reason: String) -> Result<ScriptGeneration, GenerationError> {
        reloading.withLock { status in
            let fingerprint = Self.fingerprint(locations)
            let number = current.number + 1
            let result: Result<ScriptGeneration, GenerationError>
            do throws(GenerationError) {
                let sources: ScriptSources
                do {
                    sources = try locations.read()
                } catch let error as LuaError {
                    throw GenerationError(problems: [error])
                } catch {
                    throw GenerationError(problems: [LuaError(kind: .invalidScript, message: "\(error)")])
                }
                let next = try ScriptGeneration.build(number: number, sources: sources, vmCount: vmCount, limits: limits,
                                                      logger: logger, store: store)
                state.withLock { $0 = next }
                result = .success(next)
            } catch {
                result = .failure(error)
            }
            status.fingerprint = fingerprint
            status.lastReloadAt = Date()
            switch result {
            case .success(let next):
                metrics.reloaded(kind: "scripts", succeeded: true)
                status.reloads += 1
                status.lastError = nil
                logger.info("scripts reloaded (\(reason)): generation \(next.number), \(next.providers.count) providers, \(next.scripts.count) scripts")
            case .failure(let error):
                metrics.reloaded(kind: "scripts", succeeded: false)
                status.failedReloads += 1
                status.lastError = error.description
                logger.error("scripts did not reload (\(reason)); generation \(current.number) stays live\n\(error.description)")
            }
            return result
        }
    }

    /// Reloads when any file under the providers, scripts or plugins folder changed since the last build.
    public func reloadIfChanged() {
        let changed = reloading.withLock { $0.fingerprint != Self.fingerprint(locations) }
        if changed { reload(reason: "files changed") }
    }

    /// Names, sizes and modification times of every `.lua` file the generation is built from (of
    /// the file a link leads to: see ``FileStamp``).
    static func fingerprint(_ locations: Locations) -> String {
        let manager = FileManager.default
        var parts: [String] = []
        var folders = [locations.providers, locations.providers + "/lib", locations.scripts].compactMap { $0 }
        if let plugins = locations.plugins {
            folders.append(plugins + "/lib")
            folders += ScriptSources.pluginNamespaces(plugins).map { plugins + "/" + $0 }
        }
        for folder in folders {
            let names = (try? manager.contentsOfDirectory(atPath: folder))?.filter { $0.hasSuffix(".lua") }.sorted() ?? []
            for name in names {
                parts.append("\(folder)/\(name):" + FileStamp.of(folder + "/" + name))
            }
        }
        return parts.joined(separator: "\n")
    }

    /// The generation new requests should use.
    public var current: ScriptGeneration { state.withLock { $0 } }
}
