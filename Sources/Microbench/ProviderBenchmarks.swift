import Logging
import LuaRuntime

/// The per-request cost of a provider script: `ScriptGeneration.prepare` exactly as the gateway
/// calls it (pool slot, ctx table built from Swift, the Lua `prepare`, the result read back).
///
/// The bundled providers leave `decode_body` off, the fast path every proxied request takes; a
/// translating provider (``TranslatingProvider``) shows the cost of decoding and re-encoding the body.
struct ProviderBenchmarks {
    private let generation: ScriptGeneration

    /// An OpenAI request through a custom host with organization and project settings.
    static let openAI = Case(
        id: "prepare_openai", provider: "openai",
        label: "prepare: openai (custom host, 2 settings)",
        context: PrepareContext(
            endpoint: "chat/completions", method: "POST", path: "/chat/completions", query: "",
            customHost: "http://127.0.0.1:9000/v1", apiKey: "sk-bench-0123456789abcdef", model: "gpt-4o-mini",
            settings: [("openai_organization", "org-bench"), ("openai_project", "proj-bench")]),
        expectedURL: "http://127.0.0.1:9000/v1/chat/completions")

    /// An Azure request built from resource and deployment settings: pattern checks, URL assembly and
    /// the api-version query, the most string work among the bundled providers.
    static let azure = Case(
        id: "prepare_azure_openai", provider: "azure-openai",
        label: "prepare: azure-openai (resource + deployment)",
        context: PrepareContext(
            endpoint: "chat/completions", method: "POST", path: "/chat/completions", query: "",
            customHost: nil, apiKey: "0123456789abcdef0123456789abcdef", model: "gpt-4o-mini",
            settings: [("azure_resource_name", "contoso-eu"), ("azure_deployment_id", "gpt-4o-mini-prod")]),
        expectedURL: "https://contoso-eu.openai.azure.com/openai/deployments/gpt-4o-mini-prod/chat/completions"
            + "?api-version=2024-10-21")

    /// The chat fixture through a provider that decodes, reshapes and re-encodes it.
    static let translating = Case(
        id: "prepare_translate_10kb", provider: TranslatingProvider.id,
        label: "prepare: translating provider (decode → reshape → encode)",
        context: PrepareContext(
            endpoint: "chat/completions", method: "POST", path: "/chat/completions", query: "",
            customHost: nil, apiKey: "sk-ant-bench", model: ChatRequestFixture.model, settings: [],
            body: ChatRequestFixture.bytes),
        expectedURL: TranslatingProvider.url)

    /// The chat fixture through the bundled anthropic provider: the type checks of
    /// `lib/validate.lua`, then the real translation to Anthropic Messages.
    static let anthropic = Case(
        id: "prepare_anthropic_10kb", provider: "anthropic",
        label: "prepare: anthropic (validate → translate → encode)",
        context: PrepareContext(
            endpoint: "chat/completions", method: "POST", path: "/chat/completions", query: "",
            customHost: "http://127.0.0.1:9000/v1", apiKey: "sk-ant-bench", model: ChatRequestFixture.model,
            settings: [], body: ChatRequestFixture.bytes),
        expectedURL: "http://127.0.0.1:9000/v1/messages")

    struct Case {
        var id: String
        var provider: String
        var label: String
        var context: PrepareContext
        var expectedURL: String
    }

    /// Loads the providers into a one-VM generation with the gateway's default limits.
    init(providersDirectory: String, logger: Logger) throws {
        var sources = try ScriptSources.read(providersDirectory: providersDirectory, scriptsDirectory: nil)
        sources.providers += try TranslatingProvider.sources()
        generation = try ScriptGeneration.build(
            number: 1, sources: sources, vmCount: 1, limits: LuaLimits(), logger: logger)
    }

    func run(_ sampler: Sampler, progress: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        for item in [Self.openAI, Self.azure, Self.translating, Self.anthropic] {
            let prepared = try generation.prepare(provider: item.provider, context: item.context)
            guard prepared.url == item.expectedURL else {
                throw BenchmarkError("\(item.provider) prepared \(prepared.url), expected \(item.expectedURL)")
            }
            if item.context.body != nil, !TranslatingProvider.isTranslation(prepared.body) {
                throw BenchmarkError("\(item.provider) did not return the translated body")
            }
            progress(item.label)
            let sample = try sampler.measure { n in
                for _ in 0..<n { _ = try generation.prepare(provider: item.provider, context: item.context) }
            }
            results.append(BenchmarkResult(
                id: item.id, label: item.label, bytes: item.context.body?.count, baseline: nil, sample: sample))
        }
        return results
    }
}
