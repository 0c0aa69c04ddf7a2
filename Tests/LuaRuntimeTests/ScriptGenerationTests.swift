import Foundation
import Logging
import Testing
@testable import LuaRuntime

/// Building generations from provider files and calling `prepare` through the VM pool.
@Suite struct ScriptGenerationTests {
    static let providersFolder: String = {
        // Tests/LuaRuntimeTests/ScriptGenerationTests.swift -> repository root
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("providers").path
    }()

    func file(_ name: String, _ source: String) -> ScriptSources.File {
        .init(name: name, displayPath: "providers/\(name).lua", source: source)
    }

    func context(_ settings: [(String, String)] = [], key: String? = "sk-test", customHost: String? = nil,
                 endpoint: String = "chat/completions", path: String = "/chat/completions", query: String = "") -> PrepareContext {
        PrepareContext(endpoint: endpoint, method: "POST", path: path, query: query, customHost: customHost,
                       apiKey: key, model: "gpt-4", settings: settings)
    }

    func bundled() throws -> ScriptGeneration {
        let sources = try ScriptSources.read(providersDirectory: Self.providersFolder, scriptsDirectory: nil)
        return try ScriptGeneration.build(number: 1, sources: sources, vmCount: 2, limits: LuaLimits(), logger: Logger(label: "t"))
    }

    @Test func bundledProvidersLoadAndDeclareThemselves() throws {
        let generation = try bundled()
        let required = ["openai", "azure-openai", "mistral-ai", "groq", "together-ai", "anyscale", "fireworks-ai",
                        "deepseek", "perplexity-ai", "openrouter", "x-ai", "deepinfra", "cerebras", "sambanova",
                        "nebius", "hyperbolic", "lambda", "novita-ai", "siliconflow", "moonshot", "dashscope",
                        "huggingface", "lmstudio", "ollama"]
        for id in required {
            let info = try #require(generation.providers[id], "missing provider \(id)")
            #expect(info.mode(for: "chat/completions") == .native, "\(id) must serve chat natively")
            #expect(info.mode(for: "*") == .native, "\(id) must pass other /v1 paths through")
            #expect(info.file == "providers/\(id).lua")
        }
        #expect(generation.providers["openai"]?.baseURL == "https://api.openai.com/v1")
        #expect(generation.providers["ollama"]?.requiresKey == false)
    }

    @Test func openAIPrepareBuildsURLAndBearer() throws {
        let generation = try bundled()
        let plan = try generation.prepare(provider: "openai", context: context(query: "a=1"))
        #expect(plan.url == "https://api.openai.com/v1/chat/completions?a=1")
        #expect(plan.headers == [.init(name: "authorization", value: "Bearer sk-test")])
        #expect(plan.body == nil)
        let custom = try generation.prepare(provider: "groq", context: context(customHost: "http://127.0.0.1:9000/v1"))
        #expect(custom.url == "http://127.0.0.1:9000/v1/chat/completions")
        let missing = #expect(throws: LuaError.self) { try generation.prepare(provider: "openai", context: context(key: nil)) }
        #expect(missing?.kind == .raised(status: 401, type: "authentication_error", code: "missing_api_key"))
    }

    @Test func azureUsesResourceDeploymentAndApiKeyHeader() throws {
        let generation = try bundled()
        let plan = try generation.prepare(provider: "azure-openai", context: context([
            ("azure_resource_name", "myres"), ("azure_deployment_id", "gpt4dep"), ("azure_api_version", "2024-06-01"),
        ]))
        #expect(plan.url == "https://myres.openai.azure.com/openai/deployments/gpt4dep/chat/completions?api-version=2024-06-01")
        #expect(plan.headers.contains(.init(name: "api-key", value: "sk-test")))
        #expect(!plan.headers.contains { $0.name == "authorization" })
        let missing = #expect(throws: LuaError.self) { try generation.prepare(provider: "azure-openai", context: context()) }
        #expect(missing?.message.contains("x-portkey-azure-resource-name") == true)
    }

    @Test func ollamaNeedsNoKeyAndAcceptsPortkeyStyleCustomHost() throws {
        let generation = try bundled()
        let plan = try generation.prepare(provider: "ollama", context: context(key: nil, customHost: "http://127.0.0.1:11434"))
        #expect(plan.url == "http://127.0.0.1:11434/v1/chat/completions")
        #expect(plan.headers.isEmpty)
        let local = try generation.prepare(provider: "ollama", context: context(key: nil))
        #expect(local.url == "http://localhost:11434/v1/chat/completions")
    }

    @Test func brokenFilesRejectTheWholeGenerationNamingEachFile() {
        let sources = ScriptSources(providers: [
            file("good", "return { prepare = function(ctx) return { url = 'http://x' } end }"),
            file("syntax", "return {"),
            file("notable", "return 42"),
            file("noprepare", "return { name = 'x' }"),
            file("Bad Name", "return { prepare = function() end }"),
        ])
        do {
            _ = try ScriptGeneration.build(number: 1, sources: sources, vmCount: 1, limits: LuaLimits(), logger: Logger(label: "t"))
            Issue.record("a broken generation must not build")
        } catch {
            let text = error.description
            #expect(text.contains("providers/syntax.lua:1"))
            #expect(text.contains("providers/notable.lua: a provider script must return a table"))
            #expect(text.contains("providers/noprepare.lua: the provider table has no prepare(ctx) function"))
            #expect(text.contains("providers/Bad Name.lua"))
            #expect(!text.contains("good.lua"))
        }
    }

    @Test func runawayPrepareFailsThatCallOnly() throws {
        let sources = ScriptSources(providers: [
            file("loop", "return { prepare = function(ctx) while true do end end }"),
            file("fine", "return { prepare = function(ctx) return { url = 'http://h' .. ctx.path, headers = { ['X-A'] = 1 } } end }"),
        ])
        let generation = try ScriptGeneration.build(
            number: 1, sources: sources, vmCount: 1, limits: LuaLimits(instructionBudget: 100_000), logger: Logger(label: "t"))
        let error = #expect(throws: LuaError.self) { try generation.prepare(provider: "loop", context: context()) }
        #expect(error?.kind == .budget)
        #expect(error?.message.contains("providers/loop.lua:1") == true)
        let plan = try generation.prepare(provider: "fine", context: context())
        #expect(plan.url == "http://h/chat/completions")
        #expect(plan.headers == [.init(name: "x-a", value: "1")])
    }

    @Test func bodyCanBeDecodedAndReplaced() throws {
        let sources = ScriptSources(providers: [
            file("rewrite", """
                return { decode_body = true, prepare = function(ctx)
                  ctx.body.model = ctx.settings.model_override
                  ctx.body.extra = gw.json.array()
                  return { url = 'http://h', headers = {}, body = ctx.body }
                end }
                """),
        ])
        let generation = try ScriptGeneration.build(number: 1, sources: sources, vmCount: 1, limits: LuaLimits(), logger: Logger(label: "t"))
        var ctx = context([("model_override", "m2")])
        ctx.body = Array(#"{"model":"m1","n":1}"#.utf8)
        let plan = try generation.prepare(provider: "rewrite", context: ctx)
        let body = try #require(plan.body)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["model"] as? String == "m2")
        #expect(object["n"] as? Int == 1)
        #expect(String(decoding: body, as: UTF8.self).contains(#""extra":[]"#))
    }

    @Test func poolServesConcurrentCallsCorrectly() async throws {
        let generation = try bundled()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let plan = try generation.prepare(provider: "openai", context: self.context(key: "k\(i)", query: "i=\(i)"))
                    #expect(plan.url.hasSuffix("?i=\(i)"))
                    #expect(plan.headers.first?.value == "Bearer k\(i)")
                }
            }
            try await group.waitForAll()
        }
    }
}

/// The shared helper's custom-host rules, through the providers that use them.
@Suite struct CompatHelperTests {
    @Test func customHostPathAndRootPassthrough() throws {
        let sources = try ScriptSources.read(providersDirectory: ScriptGenerationTests.providersFolder, scriptsDirectory: nil)
        let generation = try ScriptGeneration.build(number: 1, sources: sources, vmCount: 1, limits: LuaLimits(), logger: Logger(label: "t"))
        func url(_ provider: String, _ host: String?, endpoint: String = "chat/completions", path: String = "/chat/completions") throws -> String {
            try generation.prepare(provider: provider, context: PrepareContext(
                endpoint: endpoint, method: "POST", path: path, query: "", customHost: host, apiKey: "k", model: nil,
                settings: [])).url
        }
        #expect(try url("ollama", "http://127.0.0.1:11434") == "http://127.0.0.1:11434/v1/chat/completions")
        #expect(try url("ollama", "http://127.0.0.1:11434/v1") == "http://127.0.0.1:11434/v1/chat/completions")
        #expect(try url("ollama", nil, endpoint: "passthrough", path: "/api/tags") == "http://localhost:11434/api/tags")
        #expect(try url("lmstudio", "http://box:1234/v1", endpoint: "passthrough", path: "/api/v0/models") == "http://box:1234/api/v0/models")
        #expect(try url("huggingface", "https://x.endpoints.huggingface.cloud") == "https://x.endpoints.huggingface.cloud/v1/chat/completions")
        #expect(try url("huggingface", nil) == "https://router.huggingface.co/v1/chat/completions")
        #expect(try url("sambanova", "https://samba.example.com/v1/") == "https://samba.example.com/v1/chat/completions")
        // Providers without custom_host_path use the custom host exactly as given.
        #expect(try url("groq", "http://127.0.0.1:1/openai/v1") == "http://127.0.0.1:1/openai/v1/chat/completions")
    }
}
