import Foundation
import PackagePlugin

/// Stamps the git commit the binary is built from into the switchboard module, for
/// `switchboard --version`: before every build, `build-info.sh` writes `BuildInfo.swift` (one
/// constant) into this plugin's work directory, and SwiftPM compiles it with the target.
///
/// A prebuild command, not a build command, because its input (`.git`: HEAD, the index, the
/// work tree) is not a list of files SwiftPM could track; it runs on every build and costs a
/// `git rev-parse` and a `git diff --quiet`. The script rewrites the file only when the commit
/// changed, so a build with nothing changed compiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = context.package.directoryURL.appending(path: "Sources/BuildInfoPlugin/build-info.sh")
        // A prebuild command gets only the environment given here: git needs PATH, and a build
        // without .git (the container image's) names its commit in SWITCHBOARD_COMMIT.
        let inherited = ProcessInfo.processInfo.environment
        var environment = ["PATH": inherited["PATH"] ?? "/usr/bin:/bin"]
        environment["SWITCHBOARD_COMMIT"] = inherited["SWITCHBOARD_COMMIT"]
        return [
            .prebuildCommand(
                displayName: "Stamping the git commit into \(target.name)",
                executable: URL(filePath: "/bin/sh"),
                arguments: [script.path(percentEncoded: false), context.package.directoryURL.path(percentEncoded: false),
                            output.appending(path: "BuildInfo.swift").path(percentEncoded: false)],
                environment: environment,
                outputFilesDirectory: output),
        ]
    }
}
