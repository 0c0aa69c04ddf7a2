import BenchSupport
import ArgumentParser
import Foundation
import Logging

/// Opt-in micro-benchmarks: the JSON codec on a realistic request and the Lua provider call.
///
/// They answer "what does the gateway pay per request in its own code?" without the network, so a
/// change to the codec or the providers can be judged on numbers. Run in release mode.
struct Microbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "Microbench",
        abstract: "Micro-benchmarks of the JSON codec and the Lua provider call (run with -c release).")

    @Option(help: "Multiplies each repetition's minimum time of 0.5 s, and so its iterations.")
    var iterationsScale: Double = 1

    @Option(help: "Providers folder to load.")
    var providers = "./providers"

    @Flag(help: "Print one JSON object on stdout (the table goes to stderr).")
    var json = false

    @Flag(help: "Only the gw.regex benchmarks (a check plugin's regex cost).")
    var regexOnly = false

    func validate() throws {
        guard iterationsScale > 0, iterationsScale.isFinite else {
            throw ValidationError("--iterations-scale must be a positive number")
        }
    }

    func run() throws {
        var logger = Logger(label: "microbench", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = .warning
        let sampler = Sampler(repetitionSeconds: 0.5 * iterationsScale)
        let document = ChatRequestFixture.bytes
        let progress: (String) -> Void = { label in Self.printError("measuring \(label) …") }

        let regex = try RegexBenchmarks(logger: logger)
        var results = try regex.run(sampler, progress: progress)
        if !regexOnly {
            let codec = try CodecBenchmarks(document: document, logger: logger)
            let calls = try ProviderBenchmarks(providersDirectory: providers, logger: logger)
            results = try codec.run(sampler, progress: progress) + calls.run(sampler, progress: progress) + results
        }

        let report = Report(
            documentBytes: document.count, repetitions: sampler.repetitions,
            repetitionSeconds: sampler.repetitionSeconds, results: results)
        if json {
            Self.printError(report.markdown)
            print(report.json.text)
        } else {
            print(report.markdown)
        }
    }

    private static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
