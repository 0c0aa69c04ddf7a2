import FoundationEssentials
public import Logging
import Synchronization
public import LuaRuntime

/// Named routing configs: every `*.json` file in the configs folder, by file name without `.json`
/// (`x-portkey-config: <name>`), plus the optional default config for requests that name neither
/// a provider nor a config. Files are re-read when they change; a file that stops validating keeps
/// its last good version live and the error is logged.
public final class ConfigStore: Sendable {
    public let directory: String
    public let defaultName: String?
    private let state = Mutex<State>(State())
    private let logger: Logger
    private let metrics: GatewayMetrics

    struct State {
        var configs: [String: RouteConfig] = [:]
        /// File name → modification time and size last read.
        var seen: [String: String] = [:]
        var errors: [String: String] = [:]
    }

    /// Loads the folder; throws naming every file that does not validate (startup must fail loudly).
    public init(directory: String, defaultName: String?, knownProviders: Set<String>, plugins: [String: PluginInfo] = [:],
                logger: Logger, metrics: GatewayMetrics = GatewayMetrics()) throws(GatewayError) {
        self.metrics = metrics
        self.directory = directory
        self.defaultName = defaultName
        self.logger = logger
        let problems = reload(knownProviders: knownProviders, plugins: plugins)
        if !problems.isEmpty {
            throw GatewayError(status: 500, type: .config, message: problems.joined(separator: "\n"), code: .invalidConfig)
        }
        if let defaultName, config(named: defaultName) == nil {
            throw GatewayError(status: 500, type: .config,
                               message: "the default config '\(defaultName)' is not in \(directory) (have: \(names.joined(separator: ", ")))",
                               code: .invalidConfig)
        }
    }

    public var names: [String] { state.withLock { $0.configs.keys.sorted() } }

    public func config(named name: String) -> RouteConfig? {
        state.withLock { $0.configs[name] }
    }

    /// Re-reads changed files; returns the problems found (file: message).
    @discardableResult
    public func reload(knownProviders: Set<String>, plugins: [String: PluginInfo] = [:]) -> [String] {
        let manager = FileManager.default
        guard let files = try? manager.contentsOfDirectory(atPath: directory).filter({ $0.hasSuffix(".json") }) else {
            return ["configs folder not found or not readable: \(directory)"]
        }
        var problems: [String] = []
        var current = state.withLock { $0 }
        var next = current
        next.configs = current.configs.filter { files.contains($0.key + ".json") }
        next.seen = current.seen.filter { files.contains($0.key) }
        for file in files.sorted() {
            let path = directory + "/" + file
            let stamp = FileStamp.of(path)  // of the file a link leads to (ConfigMap volumes)
            if current.seen[file] == stamp { continue }
            next.seen[file] = stamp
            let name = String(file.dropLast(5))
            guard let data = manager.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                problems.append("configs/\(file): cannot read the file")
                continue
            }
            do throws(GatewayError) {
                next.configs[name] = try RouteConfig.parse(text, knownProviders: knownProviders, plugins: plugins)
                next.configs[name]?.name = name
                next.errors[name] = nil
                if current.configs[name] != nil {
                    logger.info("reloaded config \(name) from configs/\(file)")
                    metrics.reloaded(kind: "configs", succeeded: true)
                }
            } catch {
                let message = "configs/\(file): \(error.message.replacing("invalid x-portkey-config: ", with: ""))"
                problems.append(message)
                next.errors[name] = message
                metrics.reloaded(kind: "configs", succeeded: false)
                if current.configs[name] != nil {
                    logger.error("config \(name) did not reload; the previous version stays live", metadata: ["error": "\(message)"])
                }
            }
        }
        current = next
        state.withLock { $0 = current }
        return problems
    }
}
