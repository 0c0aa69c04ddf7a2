public import NIOCore

/// Replays a cached complete response as the event stream the provider would have sent, so a
/// cached answer also serves a request with `"stream": true`.
///
/// The events follow each API's own streaming format closely enough for the official SDKs'
/// stream accumulators to rebuild the cached body (``StreamAccumulator`` is the inverse and the
/// tests run the round trip). Text goes out as one delta per choice or block: a cached answer has
/// nothing to gain from being paced.
///
/// ```swift
/// if let events = CacheReplay.events(endpoint: .chatCompletions, body: hit.body,
///                                    includeUsage: CacheReplay.includeUsage(request: requestBody)) {
///     // send each buffer as it is; nil means "treat as a miss"
/// }
/// ```
public enum CacheReplay {
    /// The SSE events (one buffer per event, `[DONE]` included for OpenAI) replaying `body`, or
    /// nil when `body` is not a shape this can replay (the caller then treats it as a miss).
    ///
    /// - Parameters:
    ///   - endpoint: `.chatCompletions`, `.completions` or `.messages`; others give nil.
    ///   - includeUsage: the request's `stream_options.include_usage` (OpenAI only; Anthropic
    ///     streams always carry usage).
    public static func events(endpoint: Endpoint, body: ByteBuffer, includeUsage: Bool) -> [ByteBuffer]? {
        guard let tree = JSONTree.parse(body) else { return nil }
        let events: [[UInt8]]?
        switch endpoint {
        case .chatCompletions: events = chatCompletion(tree, includeUsage: includeUsage)
        case .completions: events = textCompletion(tree, includeUsage: includeUsage)
        case .messages: events = messagesReplay(tree)
        default: events = nil
        }
        return events?.map { ByteBuffer(bytes: $0) }
    }

    /// Whether a request body asks for the usage chunk (`"stream_options": {"include_usage": true}`).
    public static func includeUsage(request body: ByteBuffer) -> Bool {
        JSONTree.parse(body)?["stream_options"]?["include_usage"] == .bool(true)
    }

    // MARK: OpenAI chat completions

    private static func chatCompletion(_ body: JSONTree, includeUsage: Bool) -> [[UInt8]]? {
        guard body["object"] == nil || body["object"] == "chat.completion",
              let choices = body["choices"]?.array else { return nil }
        let frame = OpenAIChunkFrame(body, object: "chat.completion.chunk", includeUsage: includeUsage)
        var events: [[UInt8]] = []
        for (position, choice) in choices.enumerated() {
            guard let message = choice["message"], message.members != nil,
                  message["audio"]?.isNull ?? true, message["function_call"]?.isNull ?? true else { return nil }
            let index = choice["index"] ?? .number(String(position))
            let content = message["content"] ?? .null
            let refusal = message["refusal"]
            guard content.isNull || content.string != nil,
                  refusal.map({ $0.isNull || $0.string != nil }) ?? true else { return nil }
            func event(_ delta: JSONTree, logprobs: JSONTree = .null, finishReason: JSONTree = .null) {
                let choice = JSONTree.object(pairs: [
                    "index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finishReason,
                ])
                events.append(frame.event(choices: [choice]))
            }
            // The opening delta, as OpenAI sends it: the role and empty text (or null when the
            // message has none).
            let text = content.string ?? ""
            let refusalText = refusal?.string ?? ""
            let logprobs = choice["logprobs"] ?? .null
            event(.object(pairs: [
                "role": message["role"] ?? "assistant",
                "content": content.isNull ? .null : "",
                "refusal": refusal.map { $0.isNull ? .null : "" },
            ]), logprobs: text.isEmpty ? logprobs : .null)
            let annotations = message["annotations"]?.array ?? []
            if !text.isEmpty || !annotations.isEmpty {
                event(.object(pairs: [
                    "content": text.isEmpty ? nil : .string(text),
                    "annotations": annotations.isEmpty ? nil : .array(annotations),
                ]), logprobs: text.isEmpty ? .null : logprobs)
            }
            if !refusalText.isEmpty { event(.object(pairs: ["refusal": .string(refusalText)])) }
            for (callIndex, call) in (message["tool_calls"]?.array ?? []).enumerated() {
                guard let function = call["function"] else { return nil }
                let arguments = function["arguments"]?.string ?? ""
                event(.object(pairs: ["tool_calls": .array([.object(pairs: [
                    "index": .number(String(callIndex)), "id": call["id"], "type": call["type"] ?? "function",
                    "function": .object(pairs: ["name": function["name"], "arguments": ""]),
                ])])]))
                if !arguments.isEmpty {
                    event(.object(pairs: ["tool_calls": .array([.object(pairs: [
                        "index": .number(String(callIndex)),
                        "function": .object(pairs: ["arguments": .string(arguments)]),
                    ])])]))
                }
            }
            event(.object([]), finishReason: choice["finish_reason"] ?? .null)
        }
        if includeUsage, let usage = body["usage"], !usage.isNull {
            events.append(frame.event(choices: [], usage: usage))
        }
        events.append(Array("data: [DONE]\n\n".utf8))
        return events
    }

    // MARK: OpenAI legacy completions

    private static func textCompletion(_ body: JSONTree, includeUsage: Bool) -> [[UInt8]]? {
        guard body["object"] == nil || body["object"] == "text_completion",
              let choices = body["choices"]?.array else { return nil }
        let frame = OpenAIChunkFrame(body, object: "text_completion", includeUsage: includeUsage)
        var events: [[UInt8]] = []
        for (position, choice) in choices.enumerated() {
            guard let text = choice["text"]?.string else { return nil }
            let index = choice["index"] ?? .number(String(position))
            func event(_ text: String, logprobs: JSONTree, finishReason: JSONTree) {
                events.append(frame.event(choices: [.object(pairs: [
                    "text": .string(text), "index": index, "logprobs": logprobs, "finish_reason": finishReason,
                ])]))
            }
            event(text, logprobs: choice["logprobs"] ?? .null, finishReason: .null)
            event("", logprobs: .null, finishReason: choice["finish_reason"] ?? .null)
        }
        if includeUsage, let usage = body["usage"], !usage.isNull {
            events.append(frame.event(choices: [], usage: usage))
        }
        events.append(Array("data: [DONE]\n\n".utf8))
        return events
    }

    // MARK: Messages dialect

    private static func messagesReplay(_ body: JSONTree) -> [[UInt8]]? {
        guard body["type"] == "message", let content = body["content"]?.array else { return nil }
        var start = body
        var events: [[UInt8]] = []
        func event(_ name: String, _ data: JSONTree) {
            var bytes = Array("event: \(name)\ndata: ".utf8)
            data.write(into: &bytes, sortedKeys: false)
            bytes.append(contentsOf: [10, 10])
            events.append(bytes)
        }
        // message_start carries the message without its content and outcome; output_tokens
        // arrives (cumulative) in message_delta.
        let usage = body["usage"]
        start.set("content", .array([]))
        start.set("stop_reason", .null)
        start.set("stop_sequence", .null)
        if var startUsage = usage, startUsage.members != nil {
            startUsage.set("output_tokens", 0)
            start.set("usage", startUsage)
        }
        event("message_start", .object(pairs: ["type": "message_start", "message": start]))
        for (position, block) in content.enumerated() {
            guard let type = block["type"]?.string else { return nil }
            let index = JSONTree.number(String(position))
            var opening = block
            var deltas: [JSONTree] = []
            switch type {
            case "text":
                guard let text = block["text"]?.string else { return nil }
                opening.set("text", "")
                if let citations = block["citations"]?.array, !citations.isEmpty {
                    opening = opening.removing(["citations"])
                    deltas += citations.map { .object(pairs: ["type": "citations_delta", "citation": $0]) }
                }
                if !text.isEmpty { deltas.append(.object(pairs: ["type": "text_delta", "text": .string(text)])) }
            case "tool_use", "server_tool_use", "mcp_tool_use":
                let input = block["input"] ?? .object([])
                opening.set("input", .object([]))
                let json = String(decoding: input.bytes(), as: UTF8.self)
                deltas.append(.object(pairs: ["type": "input_json_delta", "partial_json": .string(json)]))
            case "thinking":
                guard let thinking = block["thinking"]?.string else { return nil }
                opening = opening.removing(["signature"])
                opening.set("thinking", "")
                if !thinking.isEmpty {
                    deltas.append(.object(pairs: ["type": "thinking_delta", "thinking": .string(thinking)]))
                }
                if let signature = block["signature"]?.string {
                    deltas.append(.object(pairs: ["type": "signature_delta", "signature": .string(signature)]))
                }
            default:
                break  // redacted thinking, tool results…: sent whole in content_block_start, as the dialect does
            }
            event("content_block_start", .object(pairs: [
                "type": "content_block_start", "index": index, "content_block": opening,
            ]))
            for delta in deltas {
                event("content_block_delta", .object(pairs: [
                    "type": "content_block_delta", "index": index, "delta": delta,
                ]))
            }
            event("content_block_stop", .object(pairs: ["type": "content_block_stop", "index": index]))
        }
        event("message_delta", .object(pairs: [
            "type": "message_delta",
            "delta": .object(pairs: [
                "stop_reason": body["stop_reason"] ?? .null, "stop_sequence": body["stop_sequence"] ?? .null,
            ]),
            "usage": usage?["output_tokens"].map { .object(pairs: ["output_tokens": $0]) },
        ]))
        event("message_stop", .object(pairs: ["type": "message_stop"]))
        return events
    }
}

/// The members every OpenAI chunk repeats (id, created, model, fingerprint), taken from the
/// cached body.
private struct OpenAIChunkFrame {
    let body: JSONTree
    let object: String
    let includeUsage: Bool

    init(_ body: JSONTree, object: String, includeUsage: Bool) {
        self.body = body
        self.object = object
        self.includeUsage = includeUsage
    }

    /// `data: {…}\n\n`; with `include_usage` every chunk has `usage` (null except in the last).
    func event(choices: [JSONTree], usage: JSONTree = .null) -> [UInt8] {
        let chunk = JSONTree.object(pairs: [
            "id": body["id"], "object": .string(object), "created": body["created"], "model": body["model"],
            "service_tier": body["service_tier"], "system_fingerprint": body["system_fingerprint"],
            "choices": .array(choices), "usage": includeUsage ? usage : nil,
        ])
        var bytes = Array("data: ".utf8)
        chunk.write(into: &bytes, sortedKeys: false)
        bytes.append(contentsOf: [10, 10])
        return bytes
    }
}
