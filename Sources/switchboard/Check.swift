import ArgumentParser
import Configuration
import FoundationEssentials
import GatewayCore
import Logging
import LuaRuntime

/// Validates settings, providers, scripts and routing configs offline, for users' CI.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate every setting, provider, script and routing config without serving; exits non-zero with file:line errors.")

    @OptionGroup var scriptOptions: ScriptOptions

    @OptionGroup var settingsFile: SettingsFileOption

    @Option(name: .customLong("configs"), help: "Also validate every routing config in this folder against the providers.")
    var configs: String?

    @Flag(name: .customLong("converters"), help: "Print every converter's direction and parameter declarations (mapped, refused, dropped: reason) as one JSON object instead of the summary.")
    var converters = false

    @Flag(name: .customLong("provider-table"), help: "Print the providers table of providers/README.md (id, endpoints, dialect, auth, notes) from what the provider scripts declare, instead of the summary.")
    var providerTable = false

    @Flag(name: .customLong("endpoint-table"), help: "Print README.md's endpoint table (each endpoint and the providers that serve it natively, translated or passed through) from the provider scripts, instead of the summary.")
    var endpointTable = false

    func run() async throws {
        let logger = Logger(label: "switchboard.check")
        do {
            // Every setting is resolved as `serve` would (flags, environment, settings file), so a
            // value that would stop the gateway fails here too.
            var flags = scriptOptions.flagValues
            if let configs { flags["configs"] = .string(configs) }
            let settings = try await Settings.load(flags: flags, filePath: settingsFile.path)
            let resolved = try ServeSettings(settings)
            let sources = try ScriptSources.read(
                providersDirectory: resolved.scripts.providers, scriptsDirectory: resolved.scripts.scripts,
                pluginsDirectory: resolved.scripts.plugins)
            let generation = try ScriptGeneration.build(
                number: 1, sources: sources, vmCount: 1, limits: resolved.scripts.limits, logger: logger)
            var extra = ""
            do throws(GatewayError) {
                if let json = resolved.virtualKeysJSON {
                    let keys = try VirtualKeys(json: json, knownProviders: Set(generation.providerIDs))
                    extra += ", \(keys.entries.count) virtual keys"
                }
                if let folder = resolved.configs {
                    let store = try ConfigStore(directory: folder, defaultName: resolved.defaultConfig,
                                                knownProviders: Set(generation.providerIDs), plugins: generation.plugins, logger: logger)
                    extra += ", \(store.names.count) configs"
                }
            } catch {
                for line in error.message.split(separator: "\n") { print("error: \(line)") }
                throw ExitCode(1)
            }
            if converters {
                print(try Self.convertersJSON(generation.converters))
                return
            }
            if endpointTable {
                let paths = Endpoint.allCases.filter { $0 != .passthrough }.map { endpoint in
                    (endpoint.rawValue, endpoint.clientPath)
                }
                print(ProviderTable.endpoints(generation.providers.values.sorted { $0.id < $1.id },
                                              converters: generation.converters, paths: paths), terminator: "")
                return
            }
            if providerTable {
                print(ProviderTable.markdown(generation.providers.values.sorted { $0.id < $1.id }), terminator: "")
                return
            }
            print("ok: \(generation.providers.count) providers, \(generation.libraries.count) libraries, \(generation.scripts.count) scripts, \(generation.plugins.count) check plugins\(extra)")
        } catch let exit as ExitCode {
            throw exit
        } catch let error as ValidationError {
            print("error: \(error.message)")
            throw ExitCode(1)
        } catch let error as GenerationError {
            for problem in error.problems { print("error: \(problem.message)") }
            throw ExitCode(1)
        } catch {
            print("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// One converter as `check --converters` prints it; `params` is `null` when undeclared.
    private struct ConverterEntry: Encodable {
        var from: String
        var to: String
        var params: [String: String]?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(from, forKey: .from)
            try container.encode(to, forKey: .to)
            try container.encode(params, forKey: .params)
        }

        private enum CodingKeys: String, CodingKey { case from, to, params }
    }

    static func convertersJSON(_ converters: [ConverterInfo]) throws -> String {
        var entries: [String: ConverterEntry] = [:]
        for converter in converters {
            entries[converter.module] = ConverterEntry(from: converter.from, to: converter.to, params: converter.params)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(entries), as: UTF8.self)
    }
}
