import NIOCore

/// `POST /v1/messages` (Anthropic Messages API) and `POST /v1/messages/count_tokens`.
///
/// The stream follows Anthropic's documented event order: `message_start`,
/// `content_block_start`, `ping`, `content_block_delta`×N, `content_block_stop`,
/// `message_delta`, `message_stop`.
enum AnthropicMessages {
    static let defaultModel: StaticString = "claude-3-5-sonnet-20241022"

    static func respond(_ context: RequestContext) throws(APIError) -> Outcome {
        let json = context.json
        if let messages = json.field("messages"), messages.kind != .array {
            throw .badRequest("messages: Input should be a valid list")
        }
        let model = try context.modelLiteral(default: defaultModel)
        let inputTokens = promptTokens(json)
        let outputTokens = context.reply.tokenCount
        guard json.isTrue("stream") else {
            var body = context.allocator.buffer(capacity: 384)
            body.writeStaticString("{\"id\":\"msg_mock_")
            body.writeJSONInt(context.number)
            body.writeStaticString("\",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
            body.writeImmutableBuffer(model)
            body.writeStaticString(",\"content\":[{\"type\":\"text\",\"text\":")
            body.writeJSONString(context.reply.text)
            body.writeStaticString("}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,")
            body.writeStaticString("\"usage\":{\"input_tokens\":")
            body.writeJSONInt(inputTokens)
            body.writeStaticString(",\"output_tokens\":")
            body.writeJSONInt(outputTokens)
            body.writeStaticString("}}")
            return .json(body)
        }

        var plan = StreamPlan()
        func event(_ name: String, _ write: (inout ByteBuffer) -> Void) {
            var data = context.allocator.buffer(capacity: 256)
            write(&data)
            plan.append(data, name: name)
        }
        event("message_start") { data in
            data.writeStaticString("{\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock_")
            data.writeJSONInt(context.number)
            data.writeStaticString("\",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
            data.writeImmutableBuffer(model)
            data.writeStaticString(
                ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
            )
            data.writeJSONInt(inputTokens)
            data.writeStaticString(",\"output_tokens\":1}}}")
        }
        event("content_block_start") { data in
            data.writeStaticString(
                "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"
            )
        }
        event("ping") { $0.writeStaticString("{\"type\":\"ping\"}") }
        plan.firstContentIndex = plan.events.count
        for piece in context.reply.pieces {
            event("content_block_delta") { data in
                data.writeStaticString(
                    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
                )
                data.writeJSONString(piece)
                data.writeStaticString("}}")
            }
        }
        event("content_block_stop") { $0.writeStaticString("{\"type\":\"content_block_stop\",\"index\":0}") }
        event("message_delta") { data in
            data.writeStaticString("{\"type\":\"message_delta\",")
            data.writeStaticString("\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},")
            data.writeStaticString("\"usage\":{\"output_tokens\":")
            data.writeJSONInt(outputTokens)
            data.writeStaticString("}}")
        }
        event("message_stop") { $0.writeStaticString("{\"type\":\"message_stop\"}") }
        return .stream(plan)
    }

    /// `{"input_tokens":N}` for the token-counting endpoint.
    static func countTokens(_ context: RequestContext) -> Outcome {
        var body = context.allocator.buffer(capacity: 32)
        body.writeStaticString("{\"input_tokens\":")
        body.writeJSONInt(promptTokens(context.json))
        body.writeStaticString("}")
        return .json(body)
    }

    private static func promptTokens(_ json: JSONBody) -> Int {
        TokenEstimate.tokens(forBytes: json.length("messages") + json.length("system"))
    }
}
