public import NIOCore

/// Rebuilds the complete response from a streamed one, so a streaming request that missed the
/// cache can still fill it: feed it the bytes sent to the client, then ask for the body.
///
/// It understands OpenAI `chat.completion.chunk` and `text_completion` streams and Anthropic
/// message streams, and produces the body the same request would have got without streaming
/// (the inverse of ``CacheReplay``). Anything doubtful gives nil rather than a body that might be
/// wrong: an error event, a cut stream (no `[DONE]` / `message_stop`), a choice without a finish
/// reason, an unknown delta, or more than `maxBytes` of stream.
///
/// ```swift
/// var accumulator = StreamAccumulator(endpoint: .chatCompletions, maxBytes: 8 << 20)
/// for try await chunk in upstream { accumulator.feed(chunk); forward(chunk) }
/// if let body = accumulator.finish() { cache.store(key, CachedResponse(status: 200, body: body)) }
/// ```
public struct StreamAccumulator: Sendable {
    private let endpoint: Endpoint
    private let maxBytes: Int
    private var parser = SSEParser()
    private var received = 0
    private var failed = false
    private var done = false
    private var openAI = OpenAIMerge()
    private var messages = MessagesMerge()

    /// - Parameters:
    ///   - endpoint: `.chatCompletions`, `.completions` or `.messages`; others never produce a body.
    ///   - maxBytes: stream bytes to accept before giving up (and releasing what was kept).
    public init(endpoint: Endpoint, maxBytes: Int) {
        self.endpoint = endpoint
        self.maxBytes = maxBytes
        switch endpoint {
        case .chatCompletions, .completions, .messages: break
        default: failed = true
        }
    }

    /// Whether the stream can no longer produce a body; callers may stop feeding.
    public var hasFailed: Bool { failed }

    /// Takes the next bytes of the stream, however they are cut.
    public mutating func feed(_ chunk: ByteBuffer) {
        guard !failed else { return }
        received += chunk.readableBytes
        guard received <= maxBytes else { return fail() }
        for event in parser.feed(chunk) where !failed {
            handle(event)
        }
    }

    /// The complete response body, or nil when the stream was not a complete, error-free stream
    /// of a known shape.
    public func finish() -> ByteBuffer? {
        guard !failed, done, !parser.hasPartialEvent else { return nil }
        let body: JSONTree?
        switch endpoint {
        case .chatCompletions: body = openAI.chatCompletion()
        case .completions: body = openAI.textCompletion()
        case .messages: body = messages.completeMessage()
        default: body = nil
        }
        return body.map { ByteBuffer(bytes: $0.bytes()) }
    }

    private mutating func fail() {
        failed = true
        openAI = OpenAIMerge()
        messages = MessagesMerge()
    }

    private mutating func handle(_ event: SSEEvent) {
        if endpoint == .messages {
            guard let data = JSONTree.parse(event.data), data.members != nil,
                  messages.apply(data, done: &done) else { return fail() }
            return
        }
        if event.data.elementsEqual("[DONE]".utf8) {
            done = true
            return
        }
        guard !done, event.name == nil || event.name == "message",
              let data = JSONTree.parse(event.data), data.members != nil, data["error"] == nil else { return fail() }
        // Azure opens with a choice-less chunk (`"object":""`, prompt_filter_results): nothing to keep.
        if data["object"] == "", data["choices"]?.array?.isEmpty ?? true, data["usage"] == nil { return }
        let expected = endpoint == .chatCompletions ? "chat.completion.chunk" : "text_completion"
        guard data["object"] == nil || data["object"] == .string(expected),
              openAI.apply(data, chat: endpoint == .chatCompletions) else { return fail() }
    }
}

// MARK: - OpenAI

/// Merges OpenAI chunks: choices and tool calls by their `index`, text by concatenation.
private struct OpenAIMerge {
    struct ToolCall {
        var id: JSONTree?
        var type: JSONTree?
        var name = ""
        var arguments = ""
    }

    struct Choice {
        var role: JSONTree?
        var content: String?
        var refusal: JSONTree?
        var annotations: [JSONTree] = []
        var toolCalls: [Int: ToolCall] = [:]
        var logprobs: JSONTree = .null
        var finishReason: JSONTree = .null
    }

    var id: JSONTree?
    var created: JSONTree?
    var model: JSONTree?
    var serviceTier: JSONTree?
    var systemFingerprint: JSONTree?
    var usage: JSONTree?
    var choices: [Int: Choice] = [:]

    /// False for a chunk this cannot merge faithfully.
    mutating func apply(_ chunk: JSONTree, chat: Bool) -> Bool {
        func first(_ kept: inout JSONTree?, _ key: String) {
            if kept == nil || kept?.isNull == true, let value = chunk[key], !value.isNull { kept = value }
        }
        first(&id, "id")
        first(&created, "created")
        first(&model, "model")
        first(&serviceTier, "service_tier")
        first(&systemFingerprint, "system_fingerprint")
        if let usage = chunk["usage"], !usage.isNull { self.usage = usage }
        for choice in chunk["choices"]?.array ?? [] {
            guard let index = choice["index"]?.int, index >= 0 else { return false }
            var merged = choices[index] ?? Choice()
            if chat {
                guard let delta = choice["delta"], merge(delta, into: &merged) else { return false }
            } else {
                guard let text = choice["text"]?.string else { return false }
                merged.content = (merged.content ?? "") + text
            }
            if let logprobs = choice["logprobs"], !logprobs.isNull {
                merged.logprobs = Self.appendingArrays(merged.logprobs, logprobs)
            }
            if let reason = choice["finish_reason"], !reason.isNull { merged.finishReason = reason }
            choices[index] = merged
        }
        return true
    }

    private func merge(_ delta: JSONTree, into choice: inout Choice) -> Bool {
        guard delta.members != nil,
              delta["function_call"]?.isNull ?? true, delta["audio"]?.isNull ?? true else { return false }
        if let role = delta["role"], !role.isNull { choice.role = role }
        switch delta["content"] {
        case .string(let text)?: choice.content = (choice.content ?? "") + text
        case nil, .null?: break
        default: return false
        }
        switch delta["refusal"] {
        case .string(let text)?: choice.refusal = .string((choice.refusal?.string ?? "") + text)
        case .null?: if choice.refusal == nil { choice.refusal = .null }
        case nil: break
        default: return false
        }
        choice.annotations += delta["annotations"]?.array ?? []
        for call in delta["tool_calls"]?.array ?? [] {
            guard let index = call["index"]?.int, index >= 0 else { return false }
            var merged = choice.toolCalls[index] ?? ToolCall()
            if let id = call["id"], !id.isNull { merged.id = id }
            if let type = call["type"], !type.isNull { merged.type = type }
            if let name = call["function"]?["name"]?.string { merged.name += name }
            if let arguments = call["function"]?["arguments"]?.string { merged.arguments += arguments }
            choice.toolCalls[index] = merged
        }
        return true
    }

    /// `logprobs` objects arrive in pieces: each member that is an array is concatenated.
    private static func appendingArrays(_ kept: JSONTree, _ next: JSONTree) -> JSONTree {
        guard var result = kept.members != nil ? kept : nil, let members = next.members else { return next }
        for member in members {
            switch (result[member.key], member.value) {
            case (.array(let old)?, .array(let new)): result.set(member.key, .array(old + new))
            case (nil, _), (.null?, _): result.set(member.key, member.value)
            default: break
            }
        }
        return result
    }

    private var complete: Bool {
        !choices.isEmpty && choices.values.allSatisfy { !$0.finishReason.isNull }
    }

    func chatCompletion() -> JSONTree? {
        guard complete else { return nil }
        let choices = self.choices.keys.sorted().compactMap { index in
            self.choices[index].map { choice in
                let calls = choice.toolCalls.keys.sorted().compactMap { at in
                    choice.toolCalls[at].map { call in
                        JSONTree.object(pairs: [
                            "id": call.id, "type": call.type ?? "function",
                            "function": .object(pairs: ["name": .string(call.name), "arguments": .string(call.arguments)]),
                        ])
                    }
                }
                return JSONTree.object(pairs: [
                    "index": .number(String(index)),
                    "message": .object(pairs: [
                        "role": choice.role ?? "assistant",
                        "content": choice.content.map(JSONTree.string) ?? .null,
                        "refusal": choice.refusal,
                        "tool_calls": calls.isEmpty ? nil : .array(calls),
                        "annotations": choice.annotations.isEmpty ? nil : .array(choice.annotations),
                    ]),
                    "logprobs": choice.logprobs,
                    "finish_reason": choice.finishReason,
                ])
            }
        }
        return .object(pairs: [
            "id": id, "object": "chat.completion", "created": created, "model": model, "choices": .array(choices),
            "usage": usage, "service_tier": serviceTier, "system_fingerprint": systemFingerprint,
        ])
    }

    func textCompletion() -> JSONTree? {
        guard complete else { return nil }
        let choices = self.choices.keys.sorted().compactMap { index in
            self.choices[index].map { choice in
                JSONTree.object(pairs: [
                    "text": .string(choice.content ?? ""), "index": .number(String(index)),
                    "logprobs": choice.logprobs, "finish_reason": choice.finishReason,
                ])
            }
        }
        return .object(pairs: [
            "id": id, "object": "text_completion", "created": created, "model": model, "choices": .array(choices),
            "usage": usage, "system_fingerprint": systemFingerprint,
        ])
    }
}

// MARK: - Messages dialect

/// Merges Messages-dialect stream events into the message `message_start` announced.
private struct MessagesMerge {
    struct Block {
        var opening: JSONTree
        var text = ""
        var json = ""
        var thinking = ""
        var signature: String?
        var citations: [JSONTree] = []
        var stopped = false
    }

    var message: JSONTree?
    var blocks: [Int: Block] = [:]

    /// Applies one event's data; false for an error event or one out of order.
    mutating func apply(_ data: JSONTree, done: inout Bool) -> Bool {
        guard !done, let type = data["type"]?.string else { return false }
        switch type {
        case "message_start":
            guard message == nil, var start = data["message"], start.members != nil else { return false }
            start.set("content", .array([]))
            message = start
        case "content_block_start":
            guard message != nil, let index = data["index"]?.int, blocks[index] == nil,
                  let opening = data["content_block"], opening.members != nil else { return false }
            blocks[index] = Block(opening: opening)
        case "content_block_delta":
            guard let index = data["index"]?.int, var block = blocks[index], !block.stopped,
                  let delta = data["delta"], let kind = delta["type"]?.string else { return false }
            switch kind {
            case "text_delta": block.text += delta["text"]?.string ?? ""
            case "input_json_delta": block.json += delta["partial_json"]?.string ?? ""
            case "thinking_delta": block.thinking += delta["thinking"]?.string ?? ""
            case "signature_delta": block.signature = (block.signature ?? "") + (delta["signature"]?.string ?? "")
            case "citations_delta":
                guard let citation = delta["citation"] else { return false }
                block.citations.append(citation)
            default: return false
            }
            blocks[index] = block
        case "content_block_stop":
            guard let index = data["index"]?.int, blocks[index] != nil else { return false }
            blocks[index]?.stopped = true
        case "message_delta":
            guard message != nil else { return false }
            for member in data["delta"]?.members ?? [] { message?.set(member.key, member.value) }
            if let usage = data["usage"]?.members {
                var merged = message?["usage"].flatMap { $0.members != nil ? $0 : nil } ?? .object([])
                for member in usage where !member.value.isNull { merged.set(member.key, member.value) }
                message?.set("usage", merged)
            }
        case "message_stop":
            guard message != nil else { return false }
            done = true
        case "ping":
            break
        case "error":
            return false
        default:
            break  // the Messages dialect may add event types; clients are to ignore unknown ones
        }
        return true
    }

    func completeMessage() -> JSONTree? {
        guard var message, blocks.values.allSatisfy(\.stopped) else { return nil }
        var content: [JSONTree] = []
        for index in blocks.keys.sorted() {
            guard let block = blocks[index] else { continue }
            var built = block.opening
            if !block.text.isEmpty || built["type"] == "text" {
                built.set("text", .string((built["text"]?.string ?? "") + block.text))
            }
            if !block.json.isEmpty {
                guard let input = JSONTree.parse(Array(block.json.utf8)) else { return nil }
                built.set("input", input)
            }
            if !block.thinking.isEmpty || built["type"] == "thinking" {
                built.set("thinking", .string((built["thinking"]?.string ?? "") + block.thinking))
            }
            if let signature = block.signature { built.set("signature", .string(signature)) }
            if !block.citations.isEmpty {
                built.set("citations", .array((built["citations"]?.array ?? []) + block.citations))
            }
            content.append(built)
        }
        message.set("content", .array(content))
        return message
    }
}
