import BenchSupport
import Foundation
import LuaRuntime

/// A provider that translates each request to another dialect, to measure what such a provider
/// pays per request: body bytes into Lua, decode, reshape, encode, bytes back to Swift.
///
/// No bundled provider declares `decode_body` yet, and `ScriptSources.File` has no public
/// initializer, so the script is written to a temporary folder and read back with the public
/// `ScriptSources.read`.
enum TranslatingProvider {
    static let id = "microbench-translate"
    static let url = "https://api.anthropic.com/v1/messages"

    /// Reads the provider from a temporary folder that is removed again.
    static func sources() throws -> [ScriptSources.File] {
        let manager = FileManager.default
        let folder = manager.temporaryDirectory.appendingPathComponent("microbench-\(UUID().uuidString)")
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? manager.removeItem(at: folder) }
        try Data(source.utf8).write(to: folder.appendingPathComponent(id + ".lua"))
        return try ScriptSources.read(providersDirectory: folder.path, scriptsDirectory: nil).providers
    }

    /// Whether `body` is the translation of the chat fixture (so the timed work is the real work).
    static func isTranslation(_ body: [UInt8]?) -> Bool {
        guard let body,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return false }
        return object["system"] is String && (object["tools"] as? [Any])?.count == 3
            && (object["messages"] as? [Any])?.count == 12
    }

    /// OpenAI chat → Anthropic Messages, reduced to the reshaping that costs: the system prompt moves
    /// to the top level, tools become `input_schema` objects, limits and stops are renamed.
    private static let source = """
        return {
          name = "Microbench translator",
          base_url = "https://api.anthropic.com/v1",
          endpoints = { "chat/completions" },
          decode_body = true,
          prepare = function(ctx)
            local req = ctx.body
            local system, messages = nil, gw.json.array()
            for _, m in ipairs(req.messages) do
              if m.role == "system" then system = m.content else messages[#messages + 1] = m end
            end
            local tools = gw.json.array()
            for i, t in ipairs(req.tools or {}) do
              local f = t["function"]
              tools[i] = { name = f.name, description = f.description, input_schema = f.parameters }
            end
            return {
              url = "\(url)",
              headers = { ["x-api-key"] = ctx.api_key, ["anthropic-version"] = "2023-06-01" },
              body = {
                model = req.model, system = system, messages = messages, tools = tools,
                max_tokens = req.max_tokens, temperature = req.temperature, top_p = req.top_p,
                stop_sequences = req.stop, stream = req.stream,
              },
            }
          end,
        }
        """
}
