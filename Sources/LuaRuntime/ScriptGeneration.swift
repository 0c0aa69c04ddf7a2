import CLuaShim
import FoundationEssentials
import Logging

/// A complete, validated set of provider and middleware scripts loaded into a pool of VMs.
///
/// A generation is immutable once built. Requests hold a reference to the generation they started
/// on, so a reload can publish a new one while old requests finish; the VMs close when the last
/// reference goes away.
public final class ScriptGeneration: Sendable {
    public let number: Int
    /// Providers by id.
    public let providers: [String: ProviderInfo]
    /// Middleware and route scripts found in the scripts folder, by path.
    public let scripts: [String]
    /// Library modules available to `require`, by name.
    public let libraries: [String]
    /// Middleware scripts in the order their hooks run.
    public let middleware: [MiddlewareInfo]
    /// Endpoints handled by scripts, by `"METHOD /v1/path"`.
    public let scriptedRoutes: [String: ScriptedRouteInfo]
    /// Converters between client endpoints' dialects (`providers/lib/*_to_*.lua`).
    public let converters: [ConverterInfo]
    /// Guardrail check plugins (`plugins/<namespace>/<name>.lua`) by id (`namespace.name`).
    public let plugins: [String: PluginInfo]
    let pool: LuaPool

    /// Sorted provider ids, for listings and error messages.
    public var providerIDs: [String] { providers.keys.sorted() }

    init(number: Int, providers: [String: ProviderInfo], scripts: [String], libraries: [String],
         middleware: [MiddlewareInfo] = [], scriptedRoutes: [String: ScriptedRouteInfo] = [:],
         converters: [ConverterInfo] = [], plugins: [String: PluginInfo] = [:], pool: LuaPool) {
        self.scriptedRoutes = scriptedRoutes
        self.plugins = plugins
        self.converters = converters
        self.number = number
        self.providers = providers
        self.scripts = scripts
        self.libraries = libraries
        self.middleware = middleware
        self.pool = pool
    }

    public var vmCount: Int { pool.count }
    /// How many of them are built now (one at first; more as script calls overlap).
    public var builtVMCount: Int { pool.builtCount }

    /// The converter from `endpoint` to an endpoint `provider` serves itself (natively or by its own
    /// translation), nil when there is none. The first converter in file order wins.
    public func converter(from endpoint: String, for provider: ProviderInfo) -> ConverterInfo? {
        converters.first { converter in
            converter.from == endpoint && provider.mode(for: converter.to).map { $0 != .passthrough } == true
        }
    }

    /// The converter from `endpoint` to `target`, nil when there is none.
    public func converter(from endpoint: String, to target: String) -> ConverterInfo? {
        converters.first { $0.from == endpoint && $0.to == target }
    }

    /// Collects garbage in the VMs that are idle (see ``LuaPool/collectIdleGarbage()``).
    public func collectIdleGarbage() { pool.collectIdleGarbage() }

    /// Closes the VMs built for a burst that have been idle since the previous call (see
    /// ``LuaPool/retireIdleVMs()``); returns how many.
    @discardableResult
    public func retireIdleVMs() -> Int { pool.retireIdleVMs() }
}

/// The files a generation is built from.
public struct ScriptSources: Sendable {
    public struct File: Sendable {
        /// Name used by the gateway: provider id, library name or script name.
        public var name: String
        /// Path shown in messages, e.g. `providers/groq.lua`.
        public var displayPath: String
        public var source: String
    }

    public var providers: [File] = []
    public var libraries: [File] = []
    public var scripts: [File] = []
    /// Check plugins, named by id (`default.regexMatch` for `plugins/default/regexMatch.lua`).
    public var plugins: [File] = []

    public init(providers: [File] = [], libraries: [File] = [], scripts: [File] = [], plugins: [File] = []) {
        self.providers = providers
        self.libraries = libraries
        self.scripts = scripts
        self.plugins = plugins
    }

    /// Reads `*.lua` from the providers folder (and its `lib/`), the scripts folder, and the plugins
    /// folder (one subfolder per namespace, and `lib/` for the libraries plugins `require`).
    public static func read(providersDirectory: String, scriptsDirectory: String?,
                            pluginsDirectory: String? = nil) throws(LuaError) -> ScriptSources {
        var sources = ScriptSources()
        sources.providers = try readFolder(providersDirectory, label: "providers")
        sources.libraries = try readFolder(providersDirectory + "/lib", label: "providers/lib", optional: true)
        if let scriptsDirectory {
            sources.scripts = try readFolder(scriptsDirectory, label: "scripts", optional: true)
        }
        if let pluginsDirectory {
            sources.libraries += try readFolder(pluginsDirectory + "/lib", label: "plugins/lib", optional: true)
            for namespace in pluginNamespaces(pluginsDirectory) {
                for var file in try readFolder(pluginsDirectory + "/" + namespace, label: "plugins/" + namespace) {
                    file.name = namespace + "." + file.name
                    sources.plugins.append(file)
                }
            }
        }
        return sources
    }

    /// The namespace folders under the plugins folder (every subfolder but `lib`), sorted.
    public static func pluginNamespaces(_ directory: String) -> [String] {
        let manager = FileManager.default
        let names = (try? manager.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            name != "lib" && !name.hasPrefix(".") && (try? manager.contentsOfDirectory(atPath: directory + "/" + name)) != nil
        }.sorted()
    }

    private static func readFolder(_ path: String, label: String, optional: Bool = false) throws(LuaError) -> [File] {
        let manager = FileManager.default
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".lua") }.sorted()
        } catch {
            if optional && !manager.fileExists(atPath: path) { return [] }
            throw LuaError(kind: .invalidScript, message: "\(label) folder not found or not readable: \(path)")
        }
        var files: [File] = []
        for name in names {
            let display = "\(label)/\(name)"
            guard let data = manager.contents(atPath: path + "/" + name) else {
                throw LuaError(kind: .invalidScript, script: display, message: "\(display): cannot read file")
            }
            guard let source = String(data: data, encoding: .utf8) else {
                throw LuaError(kind: .invalidScript, script: display, message: "\(display): not valid UTF-8 text")
            }
            files.append(File(name: String(name.dropLast(4)), displayPath: display, source: source))
        }
        return files
    }
}
