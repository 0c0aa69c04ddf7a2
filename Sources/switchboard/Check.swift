import ArgumentParser
import Logging
import LuaRuntime

/// Validates every provider and script offline, for users' CI.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and validate every provider and script without serving; exits non-zero with file:line errors.")

    @OptionGroup var scriptOptions: ScriptOptions

    func run() async throws {
        let logger = Logger(label: "switchboard.check")
        do {
            let sources = try ScriptSources.read(
                providersDirectory: try scriptOptions.providers, scriptsDirectory: try scriptOptions.scripts)
            let generation = try ScriptGeneration.build(
                number: 1, sources: sources, vmCount: 1, limits: try scriptOptions.limits, logger: logger)
            print("ok: \(generation.providers.count) providers, \(generation.libraries.count) libraries, \(generation.scripts.count) scripts")
        } catch let error as GenerationError {
            for problem in error.problems { print("error: \(problem.message)") }
            throw ExitCode(1)
        } catch {
            print("error: \(error)")
            throw ExitCode(1)
        }
    }
}
