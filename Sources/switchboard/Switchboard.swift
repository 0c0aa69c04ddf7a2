import ArgumentParser

/// `switchboard`: an LLM API gateway. `serve` (the default) runs it; `check` validates scripts.
@main
struct Switchboard: AsyncParsableCommand {
    /// The release, printed by `--version` with the commit the binary was built from (``BuildInfo``,
    /// stamped by the BuildInfo plugin).
    static let version = "0.18.0"

    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "An LLM API gateway: OpenAI- and Portkey-compatible, providers as Lua scripts.",
        usage: "switchboard [serve] [<options>]\nswitchboard check [<options>]",
        discussion: """
            Every option can also be set with the environment variable named in its help, or in a settings \
            file (--config-file, JSON or YAML) under its snake_case name (--max-body-size is max_body_size). \
            A flag wins over the environment, which wins over the settings file, which wins over the default.
            """,
        version: "switchboard \(version) (\(BuildInfo.commit))",
        subcommands: [Serve.self, Check.self],
        defaultSubcommand: Serve.self)

    /// ArgumentParser's `main`, except that where it would print the root's help (`switchboard
    /// --help`, `-h`, `help`), which lists only the subcommands, it prints ``gatewayHelp(columns:)``:
    /// flags without a subcommand go to `serve`, so the root's help is where they belong.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .success, fullMessage(for: error) == helpMessage() {
                print(gatewayHelp())
                self.exit()
            }
            self.exit(withError: error)
        }
    }

    /// The root's overview and usage, `serve`'s flags under their headings (NETWORK, SCRIPTS, …),
    /// then the root's subcommand list. Both parts are ArgumentParser's own rendering, so the flags
    /// read exactly as in `switchboard help serve`.
    static func gatewayHelp(columns: Int? = nil) -> String {
        let root = helpMessage(columns: columns)
        let serve = helpMessage(for: Serve.self, columns: columns)
        // root: OVERVIEW, USAGE, OPTIONS (--version, --help), SUBCOMMANDS.
        // serve: OVERVIEW, USAGE, then the titled sections and OPTIONS (--version, --help).
        guard let rootOptions = root.firstRange(of: "\nOPTIONS:\n"), let subcommands = root.firstRange(of: "\nSUBCOMMANDS:\n"),
              let serveUsage = serve.firstRange(of: "\nUSAGE: "),
              let serveSections = serve[serveUsage.upperBound...].firstRange(of: "\n\n")
        else { return root }
        return String(root[...rootOptions.lowerBound]) + serve[serveSections.upperBound...] + root[subcommands.lowerBound...]
    }
}
