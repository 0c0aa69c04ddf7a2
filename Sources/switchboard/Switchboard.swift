import ArgumentParser

/// `switchboard`: an LLM API gateway. `serve` (the default) runs it; `check` validates scripts.
@main
struct Switchboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "An LLM API gateway: OpenAI- and Portkey-compatible, providers as Lua scripts.",
        discussion: """
            Every option can also be set with the environment variable named in its help, or in a settings \
            file (--config-file, JSON or YAML) under its snake_case name (--max-body-size is max_body_size). \
            A flag wins over the environment, which wins over the settings file, which wins over the default.
            """,
        subcommands: [Serve.self, Check.self],
        defaultSubcommand: Serve.self)
}
