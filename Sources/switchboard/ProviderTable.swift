import LuaRuntime

/// The "Bundled providers" table of providers/README.md, made from what each provider script
/// declares (its endpoint table, `base_url`, `docs`, `auth_scheme`, `notes`), so the README cannot
/// drift from the scripts: a test compares the two (`switchboard check --provider-table`).
enum ProviderTable {
    static func markdown(_ providers: [ProviderInfo]) -> String {
        var out = "| id | endpoints | dialect | auth | base URL | notes |\n|---|---|---|---|---|---|\n"
        for provider in providers {
            let named = provider.endpoints.keys.filter { $0 != "*" }.sorted()
            var endpoints = named.joined(separator: ", ")
            if provider.endpoints["*"] != nil {
                endpoints += (endpoints.isEmpty ? "" : ", ") + "other /v1 paths"
            }
            let cells = [
                provider.about?.docs.map { "[`\(provider.id)`](\($0))" } ?? "`\(provider.id)`",
                endpoints,
                dialect(provider),
                provider.about?.authScheme ?? "",
                provider.baseURL.map { "`\($0)`" } ?? "—",
                provider.about?.notes ?? "",
            ]
            out += "| " + cells.map(escaped).joined(separator: " | ") + " |\n"
        }
        return out
    }

    /// README.md's endpoint table: each client endpoint, and the providers that serve it by mode.
    /// `converters` are the gateway's own (`messages_to_chat`, `responses_to_chat`): an endpoint
    /// they lead from is served for every provider with their `to` endpoint, through them.
    static func endpoints(_ providers: [ProviderInfo], converters: [ConverterInfo], paths: [(String, String)]) -> String {
        var out = "| endpoint | path | native | translated | passed through |\n|---|---|---|---|---|\n"
        for (endpoint, path) in paths {
            var native: [String] = [], translated: [String] = [], passed: [String] = []
            for provider in providers {
                switch provider.endpoints[endpoint] {
                case .native: native.append(provider.id)
                case .translate: translated.append(provider.id)
                case .passthrough: passed.append(provider.id)
                case nil: break
                }
            }
            var translatedCell = list(translated)
            // The gateway's own converters serve the endpoint for every other provider with their `to`.
            for converter in converters where converter.from == endpoint
                && providers.contains(where: { $0.endpoints[endpoint] == nil && $0.endpoints[converter.to] != nil }) {
                translatedCell = (translated.isEmpty ? "" : translatedCell + "; ")
                    + "every other provider with \(converter.to), through `\(converter.module)`"
            }
            let cells = [endpoint, path, list(native), translatedCell, list(passed)]
            out += "| " + cells.map(escaped).joined(separator: " | ") + " |\n"
        }
        return out
    }

    private static func list(_ ids: [String]) -> String { ids.isEmpty ? "—" : ids.joined(separator: ", ") }

    /// How the provider's endpoints are served, grouped by mode: "OpenAI (native)" when every one
    /// is served as the client sent it.
    static func dialect(_ provider: ProviderInfo) -> String {
        var groups: [EndpointMode: [String]] = [:]
        for (endpoint, mode) in provider.endpoints {
            groups[mode, default: []].append(endpoint == "*" ? "other paths" : endpoint)
        }
        if groups.count == 1, groups[.native] != nil { return "native" }
        return [EndpointMode.native, .translate, .passthrough].compactMap { mode in
            guard let endpoints = groups[mode] else { return nil }
            let label = switch mode {
            case .native: "native"
            case .translate: "translated"
            case .passthrough: "passed through"
            }
            return "\(label): " + endpoints.sorted().joined(separator: ", ")
        }.joined(separator: "; ")
    }

    /// A cell's text with the characters that would break a table row escaped.
    private static func escaped(_ text: String) -> String {
        text.replacing("|", with: "\\|").replacing("\n", with: " ")
    }
}
