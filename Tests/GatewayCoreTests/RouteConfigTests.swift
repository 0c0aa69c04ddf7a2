import Testing
@testable import GatewayCore

/// Portkey-compatible routing configs: parsing, inheritance and validation with paths.
@Suite struct RouteConfigTests {
    let providers: Set<String> = ["openai", "google", "anthropic", "azure-openai"]

    func parse(_ json: String) throws(GatewayError) -> RouteConfig {
        try RouteConfig.parse(json, knownProviders: providers)
    }

    func problems(_ json: String) -> String {
        do {
            _ = try parse(json)
            return "parsed"
        } catch {
            #expect(error.status == 400 && error.code == "invalid_config" && error.param == "x-portkey-config")
            return error.message
        }
    }

    @Test func portkeysDocumentedFallbackExample() throws {
        let config = try parse("""
            {"retry": {"count": 5}, "strategy": {"mode": "fallback"},
             "targets": [{"provider": "openai", "api_key": "sk-***"},
                         {"provider": "google", "api_key": "gt5***", "override_params": {"model": "gemini-pro"}}]}
            """)
        #expect(config.root.mode == .fallback)
        #expect(config.root.targets.map(\.provider) == ["openai", "google"])
        // The root's retry is inherited by both targets; count is Portkey's alias of attempts.
        #expect(config.root.targets.map { $0.retry?.attempts } == [5, 5])
        #expect(config.root.targets[0].retry?.onStatusCodes == [429, 500, 502, 503, 504])
        #expect(config.root.targets[1].overrideParams.map(\.key) == ["model"])
        #expect(config.root.targets[1].overrideParams.map(\.json) == [#""gemini-pro""#])
        #expect(config.root.targets.map(\.path) == ["config.targets[0]", "config.targets[1]"])
    }

    @Test func portkeysDocumentedLoadbalanceExampleWithStringWeights() throws {
        let config = try parse("""
            {"strategy": {"mode": "loadbalance"},
             "targets": [{"provider": "openai", "api_key": "sk-***", "weight": "0.5"},
                         {"provider": "openai", "api_key": "sk-***", "weight": "0.5"}]}
            """)
        #expect(config.root.mode == .loadbalance)
        #expect(config.root.targets.map(\.weight) == [0.5, 0.5])
    }

    @Test func childrenInheritAndOverride() throws {
        let config = try parse("""
            {"strategy": {"mode": "fallback"}, "request_timeout": 5000, "custom_host": "http://127.0.0.1:9/v1",
             "forward_headers": ["X-Tenant"], "retry": {"attempts": 2, "on_status_codes": [503]},
             "override_params": {"temperature": 0.5, "max_tokens": 10},
             "targets": [
               {"provider": "openai", "override_params": {"max_tokens": 20}},
               {"strategy": {"mode": "loadbalance"}, "retry": {"attempts": 0}, "request_timeout": "750",
                "targets": [{"provider": "azure-openai", "azure_resource_name": "res", "weight": 3},
                            {"provider": "openai", "weight": 0}]}]}
            """)
        let first = config.root.targets[0]
        #expect(first.requestTimeout == 5000 && first.customHost == "http://127.0.0.1:9/v1")
        #expect(first.forwardHeaders == ["x-tenant"])
        #expect(first.retry == RouteConfig.Retry(attempts: 2, onStatusCodes: [503], useRetryAfterHeader: false))
        // Parent then child: the child's max_tokens replaces the parent's and comes after it.
        #expect(first.overrideParams.map(\.key) == ["temperature", "max_tokens"])
        #expect(first.overrideParams.first { $0.key == "max_tokens" }?.json == "20")
        let nested = config.root.targets[1].targets[0]
        #expect(nested.path == "config.targets[1].targets[0]")
        #expect(nested.retry?.attempts == 0 && nested.requestTimeout == 750)
        #expect(nested.settings.map(\.0) == ["azure_resource_name"] && nested.weight == 3)
        #expect(nested.customHost == "http://127.0.0.1:9/v1")
    }

    @Test func everyProblemIsListedWithItsPath() {
        let message = problems("""
            {"strategy": {"mode": "roundrobin"}, "retry": {"attempts": 9},
             "targets": [{"provider": "openai", "weight": "abc"}, {"provider": "nope"},
                         {"provider": "openai", "request_timeout": -1, "retry": {"on_status_codes": [700]}}]}
            """)
        #expect(message.contains("config.strategy.mode: unknown mode 'roundrobin'"))
        #expect(message.contains("config.retry.attempts: at most 5, got 9"))
        #expect(message.contains(#"config.targets[0].weight: expected a number ≥ 0, got "abc""#))
        #expect(message.contains("config.targets[1].provider: unknown provider 'nope'"))
        #expect(message.contains("config.targets[2].request_timeout: expected a positive number of milliseconds, got -1"))
        #expect(message.contains("config.targets[2].retry.on_status_codes[0]: expected an HTTP status code, got 700"))
    }

    @Test func conditionalTargetsMustExist() {
        let message = problems("""
            {"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.tier": {"$eq": "pro"}}, "then": "big"}],
                          "default": "small"},
             "targets": [{"name": "big", "provider": "openai"}, {"name": "tiny", "provider": "openai"}]}
            """)
        #expect(message.contains("config.strategy.default: no target named 'small'"))
        #expect(!message.contains("then: no target named 'big'"))
        #expect(problems("not json").contains("not valid JSON"))
        #expect(problems(#"{"strategy": {"mode": "single"}, "targets": [{"provider": "openai"}, {"provider": "openai"}]}"#)
            .contains("'single' takes one target, got 2"))
        #expect(problems(#"{"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": 0}]}"#)
            .contains("every weight is 0"))
        #expect(problems("{}").contains("name a provider (or a virtual_key) or give targets"))
    }
}

/// Parsed inline configs are reused only for the same text and script generation, within a bound.
@Suite struct InlineConfigCacheTests {
    @Test func reusedForTheSameTextAndGenerationOnly() throws {
        let cache = InlineConfigCache()
        let text = #"{"provider":"openai","retry":{"attempts":2}}"#
        let config = try RouteConfig.parse(text, knownProviders: ["openai"])
        cache.store(text, generation: 3, config)
        #expect(cache.config(text, generation: 3)?.root.retry?.attempts == 2)
        #expect(cache.config(text, generation: 4) == nil)  // a reload may have removed the provider
        #expect(cache.config(text + " ", generation: 3) == nil)
    }

    @Test func boundedByCapacity() throws {
        let cache = InlineConfigCache()
        let config = try RouteConfig.parse(#"{"provider":"openai"}"#, knownProviders: ["openai"])
        for n in 0..<InlineConfigCache.capacity {
            cache.store("config \(n)", generation: 1, config)
        }
        #expect(cache.config("config 0", generation: 1) != nil)
        cache.store("one more", generation: 1, config)  // full: starts over
        #expect(cache.config("config 0", generation: 1) == nil)
        #expect(cache.config("one more", generation: 1) != nil)
        cache.store(String(repeating: "x", count: InlineConfigCache.maxTextBytes + 1), generation: 1, config)
        #expect(cache.config(String(repeating: "x", count: InlineConfigCache.maxTextBytes + 1), generation: 1) == nil)
    }
}
