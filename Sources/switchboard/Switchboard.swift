import ArgumentParser

/// `switchboard`: an LLM API gateway. `serve` (the default) runs it; `check` validates scripts.
@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "An LLM API gateway: OpenAI- and Portkey-compatible, providers as Lua scripts.",
        discussion: """
            Every option can also be set with the environment variable named in its help; a flag wins over \
            the environment, which wins over the default.
            """,
        subcommands: [Serve.self, Check.self],
        defaultSubcommand: Serve.self)
}
