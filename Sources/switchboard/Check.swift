import ArgumentParser
import GatewayCore
import Logging
import LuaRuntime

/// Validates every provider and script offline, for users' CI.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and validate every provider and script without serving; exits non-zero with file:line errors.")

    @OptionGroup var scriptOptions: ScriptOptions

    @OptionGroup var settingsFile: SettingsFileOption

    @Option(name: .customLong("configs"), help: "Also validate every routing config in this folder against the providers.")
    var configs: String?

    func run() async throws {
        let logger = Logger(label: "switchboard.check")
        do {
            // The settings file is validated too (unknown keys, wrong types), and names the script folders.
            let settings = try await Settings.load(flags: scriptOptions.flagValues, filePath: settingsFile.path)
            let scriptSettings = try ScriptSettings(settings)
            let sources = try ScriptSources.read(
                providersDirectory: scriptSettings.providers, scriptsDirectory: scriptSettings.scripts)
            let generation = try ScriptGeneration.build(
                number: 1, sources: sources, vmCount: 1, limits: scriptSettings.limits, logger: logger)
            var configCount = ""
            if let configs {
                let store: ConfigStore
                do throws(GatewayError) {
                    store = try ConfigStore(directory: configs, defaultName: nil,
                                            knownProviders: Set(generation.providerIDs), logger: logger)
                } catch {
                    for line in error.message.split(separator: "\n") { print("error: \(line)") }
                    throw ExitCode(1)
                }
                configCount = ", \(store.names.count) configs"
            }
            print("ok: \(generation.providers.count) providers, \(generation.libraries.count) libraries, \(generation.scripts.count) scripts\(configCount)")
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
}
