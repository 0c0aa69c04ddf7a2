import Foundation
import NIOCore
import Testing
@testable import GatewayCore

/// Rebuilding complete responses from streams, so a streamed miss can fill the cache.
@Suite struct StreamAccumulatorTests {
    /// Feeds `wire` cut into `piece`-byte chunks and returns the rebuilt body.
    func accumulate(_ endpoint: Endpoint, _ wire: String, piece: Int = .max, maxBytes: Int = 1 << 20) -> ByteBuffer? {
        var accumulator = StreamAccumulator(endpoint: endpoint, maxBytes: maxBytes)
        let bytes = Array(wire.utf8)
        var start = 0
        while start < bytes.count {
            let end = start + min(piece, bytes.count - start)
            accumulator.feed(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        return accumulator.finish()
    }

    func replayed(_ endpoint: Endpoint, _ body: String, includeUsage: Bool) throws -> String {
        let events = try #require(CacheReplay.events(endpoint: endpoint, body: ByteBuffer(string: body),
                                                     includeUsage: includeUsage))
        return events.map { String(buffer: $0) }.joined()
    }

    /// Semantic identity: the same canonical text (member order and whitespace aside, literals exact).
    func canonical(_ body: String) -> String? {
        JSONTree.parse(Array(body.utf8)).map { String(decoding: $0.bytes(sortedKeys: true), as: UTF8.self) }
    }

    func canonical(_ body: ByteBuffer?) -> String? {
        body.flatMap { canonical(String(buffer: $0)) }
    }

    func object(_ body: ByteBuffer?) throws -> [String: Any] {
        let buffer = try #require(body)
        return try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func chatRoundTripRebuildsTheCachedBody() throws {
        let withUsage = try replayed(.chatCompletions, CacheReplayTests.chatBody, includeUsage: true)
        let expected = try #require(canonical(CacheReplayTests.chatBody))
        #expect(canonical(accumulate(.chatCompletions, withUsage)) == expected)
        // However the bytes are cut.
        #expect(canonical(accumulate(.chatCompletions, withUsage, piece: 1)) == expected)
        #expect(canonical(accumulate(.chatCompletions, withUsage, piece: 7)) == expected)
        // Without the usage chunk the rest is still rebuilt.
        let withoutUsage = try replayed(.chatCompletions, CacheReplayTests.chatBody, includeUsage: false)
        let body = try object(accumulate(.chatCompletions, withoutUsage))
        #expect(body["usage"] == nil)
        #expect(body["id"] as? String == "chatcmpl-123")
        #expect(canonical(CacheReplayTests.refusalBody)
            == canonical(accumulate(.chatCompletions, try replayed(.chatCompletions, CacheReplayTests.refusalBody, includeUsage: true))))
    }

    @Test func textCompletionAndAnthropicRoundTrips() throws {
        let text = try replayed(.completions, CacheReplayTests.textBody, includeUsage: true)
        #expect(canonical(accumulate(.completions, text, piece: 5)) == canonical(CacheReplayTests.textBody))
        let anthropic = try replayed(.messages, CacheReplayTests.messagesBody, includeUsage: false)
        let expected = try #require(canonical(CacheReplayTests.messagesBody))
        #expect(canonical(accumulate(.messages, anthropic)) == expected)
        #expect(canonical(accumulate(.messages, anthropic, piece: 3)) == expected)
    }

    static let toolStream = """
        data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"lookup","arguments":""}}]},"logprobs":null,"finish_reason":null}]}

        data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"q\\":"}}]},"finish_reason":null}]}

        data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"other","arguments":"{}"}}]},"finish_reason":null}]}

        data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"swift\\"}"}}]},"finish_reason":null}]}

        : keep-alive

        data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}

        data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":9,"total_tokens":13}}

        data: [DONE]


        """

    @Test func toolCallFragmentsAreMergedByIndex() throws {
        let body = try object(accumulate(.chatCompletions, Self.toolStream))
        #expect(body["object"] as? String == "chat.completion")
        #expect(body["system_fingerprint"] as? String == "fp_1")
        #expect((body["usage"] as? [String: Any])?["total_tokens"] as? Int == 13)
        let choice = try #require((body["choices"] as? [[String: Any]])?.first)
        #expect(choice["finish_reason"] as? String == "tool_calls")
        let message = try #require(choice["message"] as? [String: Any])
        #expect(message["role"] as? String == "assistant")
        #expect(message["content"] is NSNull)
        let calls = try #require(message["tool_calls"] as? [[String: Any]])
        #expect(calls.map { $0["id"] as? String } == ["call_a", "call_b"])
        #expect(calls.allSatisfy { $0["index"] == nil && $0["type"] as? String == "function" })
        let first = calls[0]["function"] as? [String: Any]
        #expect(first?["name"] as? String == "lookup")
        #expect(first?["arguments"] as? String == #"{"q":"swift"}"#)
        #expect((calls[1]["function"] as? [String: Any])?["arguments"] as? String == "{}")
        // Azure's opening chunk without choices (and with an empty id and model) changes nothing.
        let azure = #"data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[]}"# + "\n\n"
        #expect(canonical(accumulate(.chatCompletions, azure + Self.toolStream))
            == canonical(accumulate(.chatCompletions, Self.toolStream)))
    }

    @Test func incompleteOrFailedStreamsGiveNothing() throws {
        let complete = Self.toolStream
        #expect(accumulate(.chatCompletions, complete) != nil)
        // No [DONE].
        #expect(accumulate(.chatCompletions, complete.replacingOccurrences(of: "data: [DONE]\n\n", with: "")) == nil)
        // Cut in the middle of an event.
        let cut = String(complete.prefix(complete.count / 2))
        #expect(accumulate(.chatCompletions, cut) == nil)
        // An error in the stream.
        let error = #"data: {"error":{"message":"overloaded","type":"server_error"}}"# + "\n\n"
        let failed = complete.replacingOccurrences(of: ": keep-alive\n\n", with: error)
        #expect(accumulate(.chatCompletions, failed) == nil)
        // [DONE] without a finish reason.
        #expect(accumulate(.chatCompletions, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n") == nil)
        // Not JSON, or another endpoint's stream.
        #expect(accumulate(.chatCompletions, "data: hello\n\ndata: [DONE]\n\n") == nil)
        #expect(accumulate(.completions, complete) == nil)
        #expect(accumulate(.embeddings, complete) == nil)
        // Over the memory bound.
        #expect(accumulate(.chatCompletions, complete, piece: 64, maxBytes: complete.utf8.count - 1) == nil)
        #expect(accumulate(.chatCompletions, complete, piece: 64, maxBytes: complete.utf8.count) != nil)
    }

    @Test func incompleteOrFailedAnthropicStreamsGiveNothing() throws {
        let wire = try replayed(.messages, CacheReplayTests.messagesBody, includeUsage: false)
        #expect(accumulate(.messages, wire) != nil)
        let stop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        #expect(accumulate(.messages, wire.replacingOccurrences(of: stop, with: "")) == nil)
        let error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        #expect(accumulate(.messages, wire.replacingOccurrences(of: stop, with: error + stop)) == nil)
        // A block that never stopped.
        let firstStop = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        #expect(accumulate(.messages, wire.replacingOccurrences(of: firstStop, with: "")) == nil)
        // Pings and unknown events are ignored.
        let ping = "event: ping\ndata: {\"type\":\"ping\"}\n\nevent: future\ndata: {\"type\":\"future\"}\n\n"
        #expect(canonical(accumulate(.messages, wire.replacingOccurrences(of: firstStop, with: firstStop + ping)))
            == canonical(CacheReplayTests.messagesBody))
    }

    @Test func anthropicToolInputArrivesInFragments() throws {
        let wire = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_9","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"search","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"query\\": \\"sw"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"ift\\", \\"limit\\": 12345678901234567891}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":40}}

            event: message_stop
            data: {"type":"message_stop"}


            """
        let body = try #require(accumulate(.messages, wire, piece: 11))
        #expect(canonical(body) == canonical(#"""
            {"id":"msg_9","type":"message","role":"assistant","model":"claude",
             "content":[{"type":"tool_use","id":"toolu_9","name":"search","input":{"query":"swift","limit":12345678901234567891}}],
             "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":40}}
            """#))
    }
}
