import Foundation
import NIOCore
import Testing
@testable import GatewayCore

/// Cached responses replayed as provider event streams, read back the way a client would.
@Suite struct CacheReplayTests {
    static let chatBody = #"""
        {"id":"chatcmpl-123","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06",
         "choices":[
          {"index":0,"message":{"role":"assistant","content":"Hello there","refusal":null},
           "logprobs":{"content":[{"token":"Hello","logprob":-1.2e-05,"bytes":[72],"top_logprobs":[]}],"refusal":null},
           "finish_reason":"stop"},
          {"index":1,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
           "logprobs":null,"finish_reason":"tool_calls"}],
         "usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0}},
         "service_tier":"default","system_fingerprint":"fp_abc"}
        """#

    static let refusalBody = #"""
        {"id":"chatcmpl-r","object":"chat.completion","created":5,"model":"gpt-4o","choices":[
          {"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},
           "logprobs":null,"finish_reason":"stop"}],
         "usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}}
        """#

    static let textBody = #"""
        {"id":"cmpl-7","object":"text_completion","created":1700000000,"model":"gpt-3.5-turbo-instruct",
         "choices":[{"text":"\n\nThis is a test.","index":0,"logprobs":null,"finish_reason":"length"},
                    {"text":"Second","index":1,"logprobs":null,"finish_reason":"stop"}],
         "usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}
        """#

    static let messagesBody = #"""
        {"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",
         "content":[{"type":"thinking","thinking":"Let me think.","signature":"sig=="},
                    {"type":"text","text":"The weather in Paris:"},
                    {"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris","days":3}},
                    {"type":"redacted_thinking","data":"opaque"}],
         "stop_reason":"tool_use","stop_sequence":null,
         "usage":{"input_tokens":472,"output_tokens":89,"cache_read_input_tokens":0}}
        """#

    /// One replayed event: its `event:` name and its data decoded by Foundation (nil for `[DONE]`).
    struct Event {
        var name: String?
        var data: String
        var json: [String: Any]?
    }

    /// Replays `body`, checks every buffer is exactly one well-formed SSE event, and decodes each.
    func replay(_ endpoint: Endpoint, _ body: String, includeUsage: Bool = false) throws -> [Event] {
        let buffers = try #require(CacheReplay.events(endpoint: endpoint, body: ByteBuffer(string: body),
                                                      includeUsage: includeUsage))
        var parser = SSEParser()
        var events: [Event] = []
        for buffer in buffers {
            let text = String(buffer: buffer)
            #expect(text.hasSuffix("\n\n") && !text.dropLast(2).contains("\n\n"), "\(text)")
            let parsed = parser.feed(buffer)
            try #require(parsed.count == 1)
            let data = String(decoding: parsed[0].data, as: UTF8.self)
            let json = data == "[DONE]" ? nil
                : try #require(try JSONSerialization.jsonObject(with: Data(parsed[0].data)) as? [String: Any])
            events.append(Event(name: parsed[0].name, data: data, json: json))
        }
        #expect(!parser.hasPartialEvent)
        return events
    }

    /// The chunks carrying choice `index`, in order.
    func deltas(_ events: [Event], choice index: Int) -> [[String: Any]] {
        events.compactMap { event in
            (event.json?["choices"] as? [[String: Any]])?.first { $0["index"] as? Int == index }
        }
    }

    @Test func chatCompletionStreamsLikeOpenAI() throws {
        let events = try replay(.chatCompletions, Self.chatBody)
        #expect(events.last?.data == "[DONE]")
        #expect(events.allSatisfy { $0.name == nil })
        let chunks = events.compactMap(\.json)
        #expect(chunks.count == events.count - 1)
        for chunk in chunks {
            #expect(chunk["id"] as? String == "chatcmpl-123")
            #expect(chunk["object"] as? String == "chat.completion.chunk")
            #expect(chunk["created"] as? Int == 1741569952)
            #expect(chunk["model"] as? String == "gpt-4o-2024-08-06")
            #expect(chunk["system_fingerprint"] as? String == "fp_abc")
            #expect(chunk["service_tier"] as? String == "default")
            #expect(chunk["usage"] == nil)  // not asked for
            #expect((chunk["choices"] as? [Any])?.count == 1)
        }

        let first = deltas(events, choice: 0)
        let opening = try #require(first.first?["delta"] as? [String: Any])
        #expect(opening["role"] as? String == "assistant")
        #expect(opening["content"] as? String == "")
        #expect(first.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }.joined() == "Hello there")
        #expect(first.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
        #expect(first.last?["finish_reason"] as? String == "stop")
        #expect((first.last?["delta"] as? [String: Any])?.isEmpty == true)
        let logprobs = first.compactMap { ($0["logprobs"] as? [String: Any])?["content"] as? [[String: Any]] }
        #expect(logprobs.flatMap { $0 }.map { $0["token"] as? String } == ["Hello"])

        // The second choice: content null, two tool calls with their ids, names and arguments.
        let second = deltas(events, choice: 1)
        #expect((second.first?["delta"] as? [String: Any])?["content"] is NSNull)
        var calls: [Int: (id: String, name: String, arguments: String)] = [:]
        for chunk in second {
            for call in ((chunk["delta"] as? [String: Any])?["tool_calls"] as? [[String: Any]]) ?? [] {
                let index = try #require(call["index"] as? Int)
                let function = call["function"] as? [String: Any]
                var merged = calls[index] ?? ("", "", "")
                merged.id += call["id"] as? String ?? ""
                merged.name += function?["name"] as? String ?? ""
                merged.arguments += function?["arguments"] as? String ?? ""
                if call["id"] != nil { #expect(call["type"] as? String == "function") }
                calls[index] = merged
            }
        }
        #expect(calls[0]?.id == "call_1")
        #expect(calls[0]?.name == "get_weather")
        #expect(calls[0]?.arguments == #"{"city":"Paris"}"#)
        #expect(calls[1]?.id == "call_2")
        #expect(calls[1]?.arguments == "{}")
        #expect(second.last?["finish_reason"] as? String == "tool_calls")
    }

    @Test func usageChunkOnlyWhenRequested() throws {
        let events = try replay(.chatCompletions, Self.chatBody, includeUsage: true)
        let chunks = events.compactMap(\.json)
        let last = try #require(chunks.last)
        #expect((last["choices"] as? [Any])?.isEmpty == true)
        let usage = try #require(last["usage"] as? [String: Any])
        #expect(usage["prompt_tokens"] as? Int == 19)
        #expect(usage["total_tokens"] as? Int == 29)
        #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)
        #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })
        #expect(events.last?.data == "[DONE]")
    }

    @Test func numbersAreCopiedAsWritten() throws {
        let buffers = try #require(CacheReplay.events(endpoint: .chatCompletions, body: ByteBuffer(string: Self.chatBody),
                                                      includeUsage: false))
        let wire = buffers.map { String(buffer: $0) }.joined()
        #expect(wire.contains(#""created":1741569952,"#))
        #expect(wire.contains(#""logprob":-1.2e-05,"#))
    }

    @Test func refusalsStreamAsRefusalDeltas() throws {
        let events = try replay(.chatCompletions, Self.refusalBody)
        let chunks = deltas(events, choice: 0)
        let opening = try #require(chunks.first?["delta"] as? [String: Any])
        #expect(opening["content"] is NSNull)
        #expect(opening["refusal"] as? String == "")
        let refusal = chunks.compactMap { ($0["delta"] as? [String: Any])?["refusal"] as? String }.joined()
        #expect(refusal == "I can't help with that.")
    }

    @Test func legacyCompletionsStreamTextChunks() throws {
        let events = try replay(.completions, Self.textBody, includeUsage: true)
        #expect(events.last?.data == "[DONE]")
        let chunks = events.compactMap(\.json)
        #expect(chunks.allSatisfy { $0["object"] as? String == "text_completion" && $0["id"] as? String == "cmpl-7" })
        for (index, expected) in [(0, ("\n\nThis is a test.", "length")), (1, ("Second", "stop"))] {
            let choice = deltas(events, choice: index)
            #expect(choice.compactMap { $0["text"] as? String }.joined() == expected.0)
            #expect(choice.last?["finish_reason"] as? String == expected.1)
            #expect(choice.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
        }
        #expect((chunks.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 7)
    }

    @Test func anthropicMessageStreamsLikeAnthropic() throws {
        let events = try replay(.messages, Self.messagesBody)
        #expect(events.map { $0.name ?? "" } == [
            "message_start",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_stop",
            "message_delta", "message_stop",
        ])
        for event in events { #expect(event.json?["type"] as? String == event.name) }

        let message = try #require(events[0].json?["message"] as? [String: Any])
        #expect(message["id"] as? String == "msg_01")
        #expect(message["model"] as? String == "claude-sonnet-4-5")
        #expect(message["role"] as? String == "assistant")
        #expect((message["content"] as? [Any])?.isEmpty == true)
        #expect(message["stop_reason"] is NSNull)
        let startUsage = try #require(message["usage"] as? [String: Any])
        #expect(startUsage["input_tokens"] as? Int == 472)
        #expect(startUsage["output_tokens"] as? Int == 0)

        func delta(_ at: Int) -> [String: Any]? { events[at].json?["delta"] as? [String: Any] }
        func block(_ at: Int) -> [String: Any]? { events[at].json?["content_block"] as? [String: Any] }
        #expect(block(1)?["type"] as? String == "thinking")
        #expect(block(1)?["thinking"] as? String == "")
        #expect(delta(2)?["type"] as? String == "thinking_delta")
        #expect(delta(2)?["thinking"] as? String == "Let me think.")
        #expect(delta(3)?["type"] as? String == "signature_delta")
        #expect(delta(3)?["signature"] as? String == "sig==")
        #expect(block(5)?["text"] as? String == "")
        #expect(delta(6)?["type"] as? String == "text_delta")
        #expect(delta(6)?["text"] as? String == "The weather in Paris:")
        #expect(block(8)?["name"] as? String == "get_weather")
        #expect((block(8)?["input"] as? [String: Any])?.isEmpty == true)
        #expect(delta(9)?["type"] as? String == "input_json_delta")
        let json = try #require(delta(9)?["partial_json"] as? String)
        let input = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(input?["city"] as? String == "Paris")
        #expect(input?["days"] as? Int == 3)
        #expect(block(11)?["data"] as? String == "opaque")
        #expect(events.compactMap { $0.json?["index"] as? Int } == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3])

        #expect(delta(13)?["stop_reason"] as? String == "tool_use")
        #expect(delta(13)?["stop_sequence"] is NSNull)
        #expect((events[13].json?["usage"] as? [String: Any])?["output_tokens"] as? Int == 89)
    }

    @Test func bodiesItCannotReplayAreMisses() {
        func replayable(_ endpoint: Endpoint, _ body: String) -> Bool {
            CacheReplay.events(endpoint: endpoint, body: ByteBuffer(string: body), includeUsage: false) != nil
        }
        #expect(!replayable(.chatCompletions, "not json"))
        #expect(!replayable(.chatCompletions, #"{"object":"list","data":[]}"#))
        #expect(!replayable(.chatCompletions, #"{"id":"x","choices":[{"index":0,"text":"legacy"}]}"#))
        #expect(!replayable(.chatCompletions,
                            #"{"choices":[{"index":0,"message":{"role":"assistant","content":null,"audio":{"id":"a"}}}]}"#))
        #expect(!replayable(.messages, Self.chatBody))
        #expect(!replayable(.completions, Self.chatBody))
        #expect(!replayable(.embeddings, #"{"object":"list","data":[]}"#))
        #expect(replayable(.chatCompletions, Self.chatBody))
    }

    @Test func readsIncludeUsageFromTheRequest() {
        #expect(CacheReplay.includeUsage(request: ByteBuffer(string: #"{"stream":true,"stream_options":{"include_usage":true}}"#)))
        #expect(!CacheReplay.includeUsage(request: ByteBuffer(string: #"{"stream":true,"stream_options":{"include_usage":false}}"#)))
        #expect(!CacheReplay.includeUsage(request: ByteBuffer(string: #"{"stream":true}"#)))
        #expect(!CacheReplay.includeUsage(request: ByteBuffer(string: "garbage")))
    }
}
