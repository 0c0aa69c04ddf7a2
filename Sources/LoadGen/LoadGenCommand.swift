import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `LoadGen streams …` and `LoadGen rate …`: the load generator behind `bench/run`.
///
/// Why a custom entry point instead of `main()`: ArgumentParser exits with 64 (EX_USAGE) on
/// bad input, but the benchmark script treats exit 2 as "bad arguments", so errors are mapped
/// here: usage errors exit 2, failures while running exit 1, `--help` exits 0.
struct LoadGenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "LoadGen",
        abstract: "Load generator for paced SSE streams and fixed-rate request latency (loopback only).",
        subcommands: [StreamsCommand.self, RateCommand.self]
    )

    /// Without a subcommand there is nothing to run: say so instead of exiting 0.
    func run() throws {
        throw ValidationError("choose a mode: 'LoadGen streams …' or 'LoadGen rate …' (see --help)")
    }

    static func runAndExit() -> Never {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitAsBadArguments(error)
        }
        do {
            try command.run()
            terminate(0)
        } catch {
            if exitCode(for: error) == .failure {
                // Not the user's input: a failure while running.
                printError("LoadGen: \(error)")
                terminate(1)
            }
            exitAsBadArguments(error)
        }
    }

    /// Prints the error with usage and exits 2; help requests print help and exit 0.
    private static func exitAsBadArguments(_ error: any Error) -> Never {
        if exitCode(for: error) == .success {
            exit(withError: error)
        }
        printError(fullMessage(for: error))
        terminate(2)
    }
}

/// Diagnostics go to stderr so `--json` keeps stdout to exactly one JSON object.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Ends the process (a free function because `ParsableCommand.exit` shadows libc's inside commands).
private func terminate(_ status: Int32) -> Never {
    exit(status)
}
