import Logging
import Testing
@testable import LuaRuntime

/// The provider contract's tables and hooks: endpoint tables, converters, `error(ctx, res)`,
/// `auth(ctx)` for passthrough.
@Suite struct ProviderContractTests {
    func generation(extra providers: [ScriptSources.File] = [], libraries: [ScriptSources.File] = []) throws -> ScriptGeneration {
        var sources = try ScriptSources.read(providersDirectory: ScriptGenerationTests.providersFolder, scriptsDirectory: nil)
        sources.providers += providers
        sources.libraries += libraries
        return try ScriptGeneration.build(number: 1, sources: sources, vmCount: 1, limits: LuaLimits(), logger: Logger(label: "t"))
    }

    func context(_ endpoint: String = "chat/completions", path: String? = nil, settings: [(String, String)] = []) -> PrepareContext {
        PrepareContext(endpoint: endpoint, method: "POST", path: path ?? "/" + endpoint, query: "", customHost: nil,
                       apiKey: "k", model: "m", settings: settings)
    }

    /// What the provider's error hook says, or the status default when it has none (as the gateway does).
    func retryable(_ generation: ScriptGeneration, _ provider: String, _ status: Int, _ body: String,
                   headers: [(String, String)] = []) throws -> Bool {
        let verdict = try generation.classifyError(provider: provider, session: nil, context: context(), status: status,
                                                   headers: headers.map { ($0.0.lowercased(), $0.1) }, body: Array(body.utf8))
        return verdict?.retryable ?? [408, 409, 425, 429, 500, 502, 503, 504].contains(status)
    }

    @Test func providersOwnOverloadAndThrottlingCodesAreRetryable() throws {
        let g = try generation()
        #expect(try retryable(g, "anthropic", 529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        #expect(try retryable(g, "vertex-ai", 529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        // Gemini can signal exhaustion with a 400-class status too; the code decides.
        #expect(try retryable(g, "google", 400, #"{"error":{"code":400,"message":"x","status":"RESOURCE_EXHAUSTED"}}"#))
        #expect(try retryable(g, "vertex-ai", 400, #"{"error":{"code":400,"message":"x","status":"UNAVAILABLE"}}"#))
        #expect(try retryable(g, "bedrock", 400, #"{"message":"Too many requests"}"#,
                              headers: [("x-amzn-ErrorType", "ThrottlingException:http://internal")]))
        #expect(try retryable(g, "openai", 503, "upstream connect error"))
    }

    @Test func clientMistakesAreNot() throws {
        let g = try generation()
        #expect(try !retryable(g, "anthropic", 400, #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens"}}"#))
        #expect(try !retryable(g, "openai", 401, #"{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}"#))
        #expect(try !retryable(g, "google", 404, #"{"error":{"code":404,"message":"model not found","status":"NOT_FOUND"}}"#))
        #expect(try !retryable(g, "bedrock", 400, #"{"message":"The provided model identifier is invalid."}"#,
                               headers: [("x-amzn-ErrorType", "ValidationException")]))
        // Another provider's code means nothing here: the knowledge is each provider's own.
        #expect(try !retryable(g, "openai", 400, #"{"error":{"code":400,"message":"x","status":"RESOURCE_EXHAUSTED"}}"#))
    }

    @Test func bundledEndpointTablesSayHowEachEndpointIsServed() throws {
        let g = try generation()
        let anthropic = try #require(g.providers["anthropic"])
        #expect(anthropic.mode(for: "chat/completions") == .translate)
        #expect(anthropic.mode(for: "messages") == .native)
        #expect(anthropic.mode(for: "*") == .passthrough)
        #expect(anthropic.clientHeaders == ["anthropic-beta"])
        let google = try #require(g.providers["google"])
        #expect(google.mode(for: "messages") == nil && google.mode(for: "*") == nil)
        // /v1/messages reaches Gemini through the converter to chat; nothing else is invented.
        #expect(g.converter(from: "messages", for: google)?.module == "messages_to_chat")
        #expect(g.converter(from: "embeddings", for: google) == nil)
        #expect(g.converter(from: "messages", for: anthropic)?.to == "chat/completions")
    }

    @Test func passthroughJoinsTheBaseURLTheClientsPathAndTheProvidersAuth() throws {
        let g = try generation()
        var ctx = context("passthrough", path: "/messages/count_tokens")
        ctx.query = "beta=true"
        let request = try g.passthrough(provider: "anthropic", context: ctx)
        #expect(request.url == "https://api.anthropic.com/v1/messages/count_tokens?beta=true")
        #expect(request.headers.contains(.init(name: "x-api-key", value: "k")))
        #expect(request.body == nil && request.method == nil)
        let rerank = try g.passthrough(provider: "cohere", context: context("passthrough", path: "/rerank"))
        #expect(rerank.url == "https://api.cohere.com/v2/rerank")
        #expect(rerank.headers.contains(.init(name: "authorization", value: "Bearer k")))
    }

    @Test func aMistypedEndpointTableStopsTheLoadNamingTheEntry() throws {
        func problem(_ table: String, extra: String = "") throws -> String {
            let file = ScriptSources.File(name: "acme", displayPath: "providers/acme.lua", source: """
                return { endpoints = \(table), prepare = function(ctx) return { url = "http://x" } end\(extra) }
                """)
            let error = #expect(throws: GenerationError.self) { try generation(extra: [file]) }
            return error?.description ?? ""
        }
        #expect(try problem(#"{ ["chat/completion"] = "native" }"#).contains(#"names "chat/completion", which is not an endpoint"#))
        #expect(try problem(#"{ messages = "nativ" }"#).contains(#"endpoints["messages"] must be "native", "translate" or "passthrough""#))
        #expect(try problem(#"{ ["*"] = "passthrough" }"#).contains("needs an auth(ctx) function"))
        #expect(try problem(#"{ ["chat/completions"] = "translate" }"#).contains("has no response(ctx, res) or stream(ctx, event)"))
        #expect(try problem(#"{ ["*"] = "translate" }"#, extra: ", stream = function() end").contains("relayed untranslated"))
    }

    @Test func aConverterMustDeclareItsDirectionAndHooks() throws {
        let missing = ScriptSources.File(name: "foo_to_bar", displayPath: "providers/lib/foo_to_bar.lua",
                                         source: "return { request = function() end }")
        let error = #expect(throws: GenerationError.self) { try generation(libraries: [missing]) }
        #expect(error?.description.contains("must return a table with string fields from and to") == true)
        let noHooks = ScriptSources.File(name: "x_to_chat", displayPath: "providers/lib/x_to_chat.lua",
                                         source: #"return { from = "completions", to = "chat/completions", request = function() end }"#)
        let hooks = #expect(throws: GenerationError.self) { try generation(libraries: [noHooks]) }
        #expect(hooks?.description.contains("must have response(…)") == true)
    }

    @Test func aConvertersParamsAreReadAndAMalformedOneStopsTheLoad() throws {
        let g = try generation()
        let anthropic = g.converters.first { $0.module == "chat_to_anthropic" }
        #expect(anthropic?.params?["logit_bias"] == "refused")
        #expect(anthropic?.params?["store"]?.hasPrefix("dropped: ") == true)
        func converter(_ params: String) -> ScriptSources.File {
            ScriptSources.File(name: "foo_to_bar", displayPath: "providers/lib/foo_to_bar.lua",
                               source: #"return { from = "foo", to = "bar"\#(params) }"#)
        }
        // Without params a converter still loads (a user's own), with none declared.
        let bare = try generation(libraries: [converter("")])
        #expect(bare.converters.contains { $0.module == "foo_to_bar" && $0.params == nil })
        for (params, named) in [(#", params = { seed = "droped" }"#, #"params["seed"]"#),
                                (#", params = { seed = "dropped: " }"#, #"params["seed"]"#),
                                (#", params = "all""#, "params must be a table")] {
            let error = #expect(throws: GenerationError.self) { try generation(libraries: [converter(params)]) }
            #expect(error?.description.contains("providers/lib/foo_to_bar.lua") == true)
            #expect(error?.description.contains(named) == true, "\(error?.description ?? "")")
        }
    }

    @Test func prepareMayAskForAConverterOrImagesAndNothingElse() throws {
        let file = ScriptSources.File(name: "acme", displayPath: "providers/acme.lua", source: """
            return { endpoints = { ["chat/completions"] = "native", messages = "native" }, decode_body = true,
                     prepare = function(ctx)
                       if ctx.endpoint == "messages" then return { via = "chat/completions" } end
                       if ctx.settings.old then return { dialect = "anthropic_messages" } end
                       return { fetch = { "https://example.com/a.png" } }
                     end }
            """)
        let g = try generation(extra: [file])
        var ctx = context("messages")
        ctx.body = Array(#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#.utf8)
        #expect(try g.begin(provider: "acme", context: ctx).outcome == .via("chat/completions"))
        #expect(try g.begin(provider: "acme", context: context()).outcome == .fetch(["https://example.com/a.png"]))
        let old = #expect(throws: LuaError.self) { try g.begin(provider: "acme", context: context(settings: [("old", "1")])) }
        #expect(old?.message.contains("which is now `via = <endpoint>`") == true)
    }
}
