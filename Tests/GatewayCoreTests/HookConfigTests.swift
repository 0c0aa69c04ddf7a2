@testable import GatewayCore
import LuaRuntime
import NIOCore
import Testing

/// Hooks in configs: parsed in Portkey's shapes, validated against the loaded check plugins, and
/// refused with the path named when they cannot run — never accepted and skipped.
@Suite struct HookConfigTests {
    static let plugins: [String: PluginInfo] = [
        "default.contains": PluginInfo(id: "default.contains", file: "plugins/default/contains.lua", events: PluginInfo.events,
                                       parameters: ["words": .init(type: .array, optional: false),
                                                    "operator": .init(type: .string, optional: true)]),
        "acme.noSecrets": PluginInfo(id: "acme.noSecrets", file: "plugins/acme/noSecrets.lua", events: ["beforeRequestHook"],
                                     parameters: nil),
    ]

    func parse(_ json: String, plugins: [String: PluginInfo] = plugins) throws(GatewayError) -> RouteConfig {
        try RouteConfig.parse(json, knownProviders: ["openai", "anthropic"], plugins: plugins)
    }

    func problems(_ json: String, plugins: [String: PluginInfo] = plugins) -> String {
        do {
            _ = try parse(json, plugins: plugins)
            return ""
        } catch {
            #expect(error.status == 400)
            #expect(error.code == .invalidConfig)
            return error.message
        }
    }

    @Test func fullFormAndShorthandBecomeHooks() throws {
        let config = try parse("""
            {"provider": "openai",
             "before_request_hooks": [{"type": "guardrail", "id": "g1", "deny": true,
                                       "checks": [{"id": "default.contains", "parameters": {"operator": "none", "words": ["Apple"]}}]}],
             "input_guardrails": [{"contains": {"words": ["x"]}, "deny": false}],
             "outputGuardrails": [{"default.contains": {"words": ["y"]}, "async": true}]}
            """)
        #expect(config.root.hooks.before.map(\.id) == ["g1", "input_guardrail_0"])
        #expect(config.root.hooks.before.map(\.deny) == [true, false])
        #expect(config.root.hooks.before[1].checkIDs == ["default.contains"])  // `default.` added
        #expect(config.root.hooks.after.map(\.async) == [true])                 // camelCase key read
    }

    @Test func childrenInheritHooksUnlessTheyHaveTheirOwn() throws {
        let config = try parse("""
            {"strategy": {"mode": "fallback"},
             "input_guardrails": [{"default.contains": {"words": ["a"]}, "id": "parent"}],
             "targets": [{"provider": "openai"},
                         {"provider": "anthropic", "input_guardrails": [{"default.contains": {"words": ["b"]}, "id": "own"}]}]}
            """)
        #expect(config.root.targets[0].hooks.before.map(\.id) == ["parent"])
        #expect(config.root.targets[1].hooks.before.map(\.id) == ["own"])
    }

    @Test func aCheckWithNoPluginIsRefusedNamingItsPath() {
        let message = problems("""
            {"provider": "openai", "input_guardrails": [{"default.nope": {}}]}
            """)
        #expect(message.contains("config.input_guardrails[0].checks.default.nope: no check plugin 'default.nope' is loaded"))
        // With no plugins at all, every hook is refused rather than skipped.
        let none = problems("""
            {"provider": "openai", "before_request_hooks": [{"checks": [{"id": "default.contains", "parameters": {"words": []}}]}]}
            """, plugins: [:])
        #expect(none.contains("no check plugin 'default.contains' is loaded"))
        #expect(none.contains("loaded: none"))
    }

    @Test func savedGuardrailsAndMalformedHooksAreRefused() {
        let message = problems("""
            {"provider": "openai", "input_guardrails": ["pg-abc123"],
             "after_request_hooks": [{"type": "checker", "checks": []}, 5],
             "before_request_hooks": [{"checks": [{"id": "default.contains", "parameters": {"words": "x", "colour": 1}}], "deny": "yes"}]}
            """)
        #expect(message.contains("config.input_guardrails[0]: 'pg-abc123' names a guardrail saved in Portkey's hosted app"))
        #expect(message.contains("config.after_request_hooks[0].type: expected \"guardrail\" or \"mutator\""))
        #expect(message.contains("config.after_request_hooks[0].checks: expected a non-empty list of checks"))
        #expect(message.contains("config.after_request_hooks[1]: expected a hook object"))
        #expect(message.contains("config.before_request_hooks[0].checks.default.contains.words: expected an array"))
        #expect(message.contains("config.before_request_hooks[0].checks.default.contains.colour: 'default.contains' has no parameter 'colour'"))
        #expect(message.contains("config.before_request_hooks[0].deny: expected true or false"))
    }

    @Test func aCheckOnAnEventItDoesNotServeIsRefused() {
        let message = problems("""
            {"provider": "openai", "output_guardrails": [{"acme.noSecrets": {}}]}
            """)
        #expect(message.contains("'acme.noSecrets' does not run on afterRequestHook"))
    }

    @Test func defaultGuardrailHeadersParseAsShorthand() throws {
        let hooks = try HookParser.header(#"[{"default.contains": {"words": ["x"]}, "deny": true}]"#,
                                          name: "x-portkey-default-input-guardrails", event: .beforeRequest, plugins: Self.plugins)
        #expect(hooks.map(\.deny) == [true])
        #expect(throws: GatewayError.self) {
            try HookParser.header("not json", name: "x-portkey-default-input-guardrails", event: .beforeRequest, plugins: Self.plugins)
        }
    }
}

/// `hook_results` goes into an answer as its last member, the answer's own bytes untouched.
@Suite struct HookResultsBodyTests {
    let results = HookResults(before: [.object(pairs: ["id": .string("g1"), "verdict": .bool(true)])])

    func added(_ body: String) -> String? {
        results.added(to: ByteBuffer(string: body)).map { String(buffer: $0) }
    }

    @Test func splicedBeforeTheClosingBrace() {
        #expect(added(#"{"id":"x","n":1.50}"#)
                == #"{"id":"x","n":1.50,"hook_results":{"before_request_hooks":[{"id":"g1","verdict":true}],"after_request_hooks":[]}}"#)
        #expect(added("{ }\n") == #"{ "hook_results":{"before_request_hooks":[{"id":"g1","verdict":true}],"after_request_hooks":[]}}"#)
    }

    @Test func anExistingKeyIsReplacedNotDuplicated() throws {
        let text = try #require(added(#"{"hook_results":{"old":true},"a":1}"#))
        #expect(!text.contains("old"))
        #expect(text.split(separator: "hook_results", omittingEmptySubsequences: false).count == 2)
        #expect(text.hasPrefix(#"{"a":1,"hook_results":"#))
    }

    @Test func notAnObjectIsLeftAlone() {
        #expect(added("[1,2]") == nil)
        #expect(added("{not json}") == nil)
    }
}
