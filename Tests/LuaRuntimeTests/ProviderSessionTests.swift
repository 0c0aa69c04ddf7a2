import Foundation
import Logging
import Testing
@testable import LuaRuntime

/// Translating providers at the Lua level: `prepare` → `response` / `stream` on one session, with
/// the bundled anthropic provider and fixtures from Anthropic's Messages API reference.
@Suite struct ProviderSessionTests {
    func generation() throws -> ScriptGeneration {
        let sources = try ScriptSources.read(providersDirectory: ScriptGenerationTests.providersFolder, scriptsDirectory: nil)
        return try ScriptGeneration.build(number: 1, sources: sources, vmCount: 2, limits: LuaLimits(), logger: Logger(label: "t"))
    }

    func json(_ bytes: [UInt8]?) throws -> [String: Any] {
        let bytes = try #require(bytes)
        return try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    func begin(_ generation: ScriptGeneration, _ body: String) throws -> (PreparedRequest, ProviderSession) {
        let context = PrepareContext(endpoint: "chat/completions", method: "POST", path: "/chat/completions", query: "",
                                     customHost: nil, apiKey: "sk-ant", model: nil, settings: [("anthropic_beta", "b1")],
                                     body: Array(body.utf8))
        let (outcome, session) = try generation.begin(provider: "anthropic", context: context)
        guard case .send(let request) = outcome else { throw LuaError(kind: .runtime, message: "expected a request, got \(outcome)") }
        return (request, try #require(session))
    }

    @Test func anthropicDeclaresTranslationAndBuildsTheMessagesRequest() throws {
        let generation = try generation()
        let info = try #require(generation.providers["anthropic"])
        #expect(info.translatesResponses && info.translatesStreams && info.decodesBody)
        #expect(generation.providers["openai"]?.translatesResponses == false)

        let (request, _) = try begin(generation, #"{"model":"claude-x","messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        #expect(request.url == "https://api.anthropic.com/v1/messages")
        #expect(request.headers.contains(.init(name: "x-api-key", value: "sk-ant")))
        #expect(request.headers.contains(.init(name: "anthropic-beta", value: "b1")))
        let body = try json(request.body)
        #expect(body["max_tokens"] as? Int == 4096)
        #expect(body["stream"] as? Bool == true)
    }

    @Test func responseUsesWhatPrepareKeptInCtx() throws {
        let generation = try generation()
        let (_, session) = try begin(generation, #"{"model":"claude-asked","messages":[{"role":"user","content":"hi"}]}"#)
        // No model in the upstream answer: the one the client asked for (kept in ctx) is used.
        let upstream = #"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi!"}],"stop_reason":"max_tokens","usage":{"input_tokens":3,"output_tokens":2}}"#
        let translated = try session.response(status: 200, headers: [], body: Array(upstream.utf8))
        let completion = try json(translated.body)
        #expect(completion["model"] as? String == "claude-asked")
        let choice = try #require((completion["choices"] as? [[String: Any]])?.first)
        #expect(choice["finish_reason"] as? String == "length")
        #expect((choice["message"] as? [String: Any])?["content"] as? String == "Hi!")
    }

    @Test func streamStateSurvivesAcrossEventsAndTheEndIsChecked() throws {
        let generation = try generation()
        let (_, session) = try begin(generation, #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        func feed(_ name: String, _ data: String) throws -> String {
            String(decoding: try session.stream(event: (name, Array(data.utf8))), as: UTF8.self)
        }
        let start = try feed("message_start", #"{"type":"message_start","message":{"id":"msg_9","model":"claude","usage":{"input_tokens":4}}}"#)
        #expect(start.hasPrefix("data: {") && start.contains(#""role":"assistant""#) && start.contains("msg_9"))
        #expect(try feed("ping", #"{"type":"ping"}"#).isEmpty)
        let tool = try feed("content_block_start", #"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"tu","name":"f","input":{}}}"#)
        #expect(tool.contains(#""index":0"#) && tool.contains(#""id":"tu""#))
        let piece = try feed("content_block_delta", #"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}"#)
        #expect(piece.contains(#""arguments":"{\"a\"""#))
        // Cut before message_stop: the end call reports it as an error event, in OpenAI's shape.
        let end = String(decoding: try session.stream(event: nil, truncated: true), as: UTF8.self)
        #expect(end.contains(#""error":{"#) && end.contains("stream_truncated") && end.contains("cut inside an event"))
    }

    @Test func aScriptErrorInAStreamNamesTheFile() throws {
        let generation = try generation()
        let (_, session) = try begin(generation, #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
        // message_start never arrived, so ctx.tool_index is nil: a genuine script failure.
        let error = #expect(throws: LuaError.self) {
            try session.stream(event: ("content_block_start", Array(#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"x","name":"f"}}"#.utf8)))
        }
        // The failing line is in the shared translation library, and the message says so.
        #expect(error?.message.contains("providers/lib/chat_to_anthropic.lua:") == true, "\(String(describing: error?.message))")
    }

    @Test func vertexBuildsRegionalAndGlobalURLs() throws {
        let generation = try generation()
        func url(region: String?, model: String, stream: Bool = false) throws -> String {
            var settings = [("vertex_project_id", "p1")]
            if let region { settings.append(("vertex_region", region)) }
            let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}],"stream":\#(stream)}"#
            let context = PrepareContext(endpoint: "chat/completions", method: "POST", path: "/chat/completions", query: "",
                                         customHost: nil, apiKey: "tok", model: nil, settings: settings, body: Array(body.utf8))
            return try generation.prepare(provider: "vertex-ai", context: context).url
        }
        #expect(try url(region: nil, model: "gemini-2.5-flash")
                == "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
        #expect(try url(region: "global", model: "gemini-2.5-flash", stream: true)
                == "https://aiplatform.googleapis.com/v1/projects/p1/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(try url(region: "us-east5", model: "claude-sonnet-4-5")
                == "https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5:rawPredict")
    }
}
