import Foundation
import PackagePlugin

/// Stamps the git commit the binary is built from into the switchboard module, for
/// `switchboard --version`: `build-info.sh` writes `BuildInfo.swift` (one constant) into this
/// plugin's work directory, and SwiftPM compiles it with the target.
///
/// A build command whose inputs are git's record of HEAD and every source file, not a prebuild
/// command: SwiftPM 6.3 runs prebuild commands only when it re-plans the package (a change to
/// Package.swift or to the set of files), not before every build as documented
/// (swiftlang/swift-package-manager#5476), so a commit, a checkout or an edit left the stamp stale.
/// A build command runs whenever an input changed. The script rewrites the file only when the
/// commit or the dirty mark changed, so an edit recompiles what it touched and no more, and a
/// build with nothing changed runs nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.swift")
        let script = package.appending(path: "Sources/BuildInfoPlugin/build-info.sh")
        // What the dirty mark looks at (the script's `git status -- Package.swift Sources`).
        let sources = context.package.targets.compactMap { $0.sourceModule }.flatMap { $0.sourceFiles.map(\.url) }
        let inputs = [script, package.appending(path: "Package.swift")] + Self.headRecords(package: package) + sources
        // A command gets only the environment given here: git needs PATH, and a build without
        // .git (the container image's) names its commit in SWITCHBOARD_COMMIT.
        let inherited = ProcessInfo.processInfo.environment
        var environment = ["PATH": inherited["PATH"] ?? "/usr/bin:/bin"]
        environment["SWITCHBOARD_COMMIT"] = inherited["SWITCHBOARD_COMMIT"]
        return [
            .buildCommand(
                displayName: "Stamping the git commit into \(target.name)",
                executable: URL(filePath: "/bin/sh"),
                arguments: [script.path(percentEncoded: false), package.path(percentEncoded: false),
                            output.path(percentEncoded: false)],
                environment: environment,
                inputFiles: inputs,
                outputFiles: [output]),
        ]
    }

    /// The files git rewrites when HEAD moves (commit, checkout, reset, merge): `HEAD` and its
    /// reflog, in the repository's git directory (`.git`, or where a worktree's `.git` file points).
    /// None without a `.git` (a source tarball): then the stamp is SWITCHBOARD_COMMIT's and fixed.
    static func headRecords(package: URL) -> [URL] {
        let dotGit = package.appending(path: ".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path(percentEncoded: false), isDirectory: &isDirectory) else {
            return []
        }
        var gitDirectory = dotGit
        if !isDirectory.boolValue {
            guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix("gitdir: ") })
            else { return [] }
            let path = String(line.dropFirst("gitdir: ".count))
            gitDirectory = path.hasPrefix("/") ? URL(filePath: path) : package.appending(path: path)
        }
        return [gitDirectory.appending(path: "HEAD"), gitDirectory.appending(path: "logs/HEAD")]
            .filter { FileManager.default.fileExists(atPath: $0.path(percentEncoded: false)) }
    }
}
