import Foundation
import NIOCore

/// `POST /v1/responses` (OpenAI's Responses API), plain and streamed, written from the API
/// reference (https://platform.openai.com/docs/api-reference/responses/create and the streaming
/// events reference): one `message` output item with one `output_text` part.
///
/// The stream is the documented sequence, each event named and numbered (`sequence_number` from
/// 0): `response.created`, `response.in_progress`, `response.output_item.added`,
/// `response.content_part.added`, `response.output_text.delta`×N, `response.output_text.done`,
/// `response.content_part.done`, `response.output_item.done`, `response.completed` (with usage).
/// `drop_last` and `reset: mid` cut it like every other dialect's stream.
enum OpenAIResponses {
    static func respond(_ context: RequestContext) throws(APIError) -> Outcome {
        let json = context.json
        guard json.has("input") else { throw .badRequest("Missing required parameter: 'input'.") }
        if let input = json.field("input"), input.kind != .array, input.kind != .string {
            throw .badRequest("Invalid type for 'input': expected a string or an array.")
        }
        let model = context.modelName(default: "gpt-4o")
        let ids = (response: "resp_mock_\(context.number)", message: "msg_mock_\(context.number)")
        let usage: [String: Any] = [
            "input_tokens": TokenEstimate.tokens(forBytes: json.length("input") + json.length("instructions")),
            "input_tokens_details": ["cached_tokens": 0],
            "output_tokens": context.reply.tokenCount,
            "output_tokens_details": ["reasoning_tokens": 0],
            "total_tokens": TokenEstimate.tokens(forBytes: json.length("input") + json.length("instructions"))
                + context.reply.tokenCount,
        ]
        let request = json.decodeObject()
        func response(status: String, output: [[String: Any]], usage: Any) -> [String: Any] {
            [
                "id": ids.response, "object": "response", "created_at": context.created, "status": status,
                "error": NSNull(), "incomplete_details": NSNull(), "model": model, "output": output,
                "instructions": request["instructions"] ?? NSNull(), "metadata": request["metadata"] ?? [String: Any](),
                "parallel_tool_calls": request["parallel_tool_calls"] ?? true,
                "tool_choice": request["tool_choice"] ?? "auto", "tools": request["tools"] ?? [Any](),
                "temperature": request["temperature"] ?? 1.0, "top_p": request["top_p"] ?? 1.0,
                "text": request["text"] ?? ["format": ["type": "text"]], "truncation": "disabled",
                "store": request["store"] ?? true, "previous_response_id": NSNull(),
                "max_output_tokens": request["max_output_tokens"] ?? NSNull(), "usage": usage,
            ]
        }
        func part(_ text: String) -> [String: Any] {
            ["type": "output_text", "text": text, "annotations": [Any](), "logprobs": [Any]()]
        }
        func message(_ text: String?, status: String) -> [String: Any] {
            ["type": "message", "id": ids.message, "status": status, "role": "assistant",
             "content": text.map { [part($0)] } ?? [Any]()]
        }
        let text = context.reply.text
        guard json.isTrue("stream") else {
            return .json(encode(response(status: "completed", output: [message(text, status: "completed")], usage: usage)))
        }

        var plan = StreamPlan()
        var sequence = 0
        func event(_ name: String, _ fields: [String: Any]) {
            var data = fields
            data["type"] = name
            data["sequence_number"] = sequence
            sequence += 1
            plan.append(encode(data), name: name)
        }
        let base = ["item_id": ids.message, "output_index": 0, "content_index": 0] as [String: Any]
        event("response.created", ["response": response(status: "in_progress", output: [], usage: NSNull())])
        event("response.in_progress", ["response": response(status: "in_progress", output: [], usage: NSNull())])
        event("response.output_item.added", ["output_index": 0, "item": message(nil, status: "in_progress")])
        event("response.content_part.added", base.merging(["part": part("")]) { $1 })
        plan.firstContentIndex = plan.events.count
        for piece in context.reply.pieces {
            event("response.output_text.delta", base.merging(["delta": piece, "logprobs": [Any]()]) { $1 })
        }
        event("response.output_text.done", base.merging(["text": text, "logprobs": [Any]()]) { $1 })
        event("response.content_part.done", base.merging(["part": part(text)]) { $1 })
        event("response.output_item.done", ["output_index": 0, "item": message(text, status: "completed")])
        event("response.completed", ["response": response(status: "completed", output: [message(text, status: "completed")],
                                                          usage: usage)])
        return .stream(plan)
    }

    private static func encode(_ object: [String: Any]) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }
}

extension JSONBody {
    /// The whole body decoded as an object (empty when it is not one): the Responses answer
    /// echoes the request's settings.
    func decodeObject() -> [String: Any] {
        let data = buffer.withUnsafeReadableBytes { Data($0) }
        return (try? JSONSerialization.jsonObject(with: data, options: [])) as? [String: Any] ?? [:]
    }
}
