import NIOCore

/// `POST /v1/chat/completions` in OpenAI's wire format, plain and streamed.
///
/// Why it is written this way: this is the endpoint benchmarks hammer, so the plain answer is
/// assembled from static fragments plus the request's raw `model` bytes, without decoding JSON.
enum OpenAIChat {
    static let defaultModel: StaticString = "gpt-4"

    static func respond(_ context: RequestContext) throws(APIError) -> Outcome {
        let json = context.json
        if let messages = json.field("messages"), messages.kind != .array {
            throw .badRequest("Invalid type for 'messages': expected an array.")
        }
        let model = try context.modelLiteral(default: defaultModel)
        let usage = Usage(
            prompt: TokenEstimate.tokens(forBytes: json.length("messages")),
            completion: context.reply.tokenCount
        )
        if json.isTrue("stream") {
            let includeUsage = StreamOptions.includeUsage(in: json)
            return .stream(stream(context, model: model, usage: usage, includeUsage: includeUsage))
        }
        return .json(completion(context, model: model, usage: usage))
    }

    /// The non-streaming `chat.completion` object.
    static func completion(_ context: RequestContext, model: ByteBuffer, usage: Usage) -> ByteBuffer {
        var body = context.allocator.buffer(capacity: 384)
        body.writeStaticString("{\"id\":\"chatcmpl-mock-")
        body.writeJSONInt(context.number)
        body.writeStaticString("\",\"object\":\"chat.completion\",\"created\":")
        body.writeJSONInt(context.created)
        body.writeStaticString(",\"model\":")
        body.writeImmutableBuffer(model)
        body.writeStaticString(
            ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
        )
        if context.controls.content == nil, context.controls.chunks == nil {
            body.writeStaticString("\"This is a test.\"")
        } else {
            body.writeJSONString(context.reply.text)
        }
        body.writeStaticString("},\"logprobs\":null,\"finish_reason\":\"stop\"}],")
        usage.writeOpenAI(into: &body)
        body.writeStaticString("}")
        return body
    }

    /// `chat.completion.chunk` events: role, one per piece, finish, optional usage, `[DONE]`.
    static func stream(_ context: RequestContext, model: ByteBuffer, usage: Usage, includeUsage: Bool) -> StreamPlan {
        var plan = StreamPlan()
        func chunk(_ writeChoices: (inout ByteBuffer) -> Void) -> ByteBuffer {
            var data = context.allocator.buffer(capacity: 256)
            data.writeStaticString("{\"id\":\"chatcmpl-mock-")
            data.writeJSONInt(context.number)
            data.writeStaticString("\",\"object\":\"chat.completion.chunk\",\"created\":")
            data.writeJSONInt(context.created)
            data.writeStaticString(",\"model\":")
            data.writeImmutableBuffer(model)
            data.writeStaticString(",\"choices\":")
            writeChoices(&data)
            return data
        }
        func choice(_ delta: StaticString, _ text: String?, finish: StaticString) -> ByteBuffer {
            chunk { data in
                data.writeStaticString("[{\"index\":0,\"delta\":")
                data.writeStaticString(delta)
                if let text {
                    data.writeJSONString(text)
                    data.writeStaticString("}")
                }
                data.writeStaticString(",\"logprobs\":null,\"finish_reason\":")
                data.writeStaticString(finish)
                data.writeStaticString(includeUsage ? "}],\"usage\":null}" : "}]}")
            }
        }

        plan.append(choice("{\"role\":\"assistant\",\"content\":", "", finish: "null"))
        plan.firstContentIndex = 1
        for piece in context.reply.pieces {
            plan.append(choice("{\"content\":", piece, finish: "null"))
        }
        plan.append(choice("{}", nil, finish: "\"stop\""))
        if includeUsage {
            plan.append(
                chunk { data in
                    data.writeStaticString("[],")
                    usage.writeOpenAI(into: &data)
                    data.writeStaticString("}")
                }
            )
        }
        plan.append(doneMarker(context.allocator))
        return plan
    }

    /// The `[DONE]` sentinel that ends every OpenAI stream.
    static func doneMarker(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var done = allocator.buffer(capacity: 6)
        done.writeStaticString("[DONE]")
        return done
    }
}

/// Token usage shared by the OpenAI-style endpoints.
struct Usage: Sendable {
    var prompt: Int
    var completion: Int

    /// Writes `"usage":{"prompt_tokens":…,"completion_tokens":…,"total_tokens":…}`.
    func writeOpenAI(into body: inout ByteBuffer) {
        body.writeStaticString("\"usage\":{\"prompt_tokens\":")
        body.writeJSONInt(prompt)
        body.writeStaticString(",\"completion_tokens\":")
        body.writeJSONInt(completion)
        body.writeStaticString(",\"total_tokens\":")
        body.writeJSONInt(prompt + completion)
        body.writeStaticString("}")
    }
}

/// Reads `stream_options.include_usage` without decoding the whole body.
enum StreamOptions {
    static func includeUsage(in json: JSONBody) -> Bool {
        guard let field = json.field("stream_options"), field.kind == .object,
            let options = try? JSONBody(json.raw(field))
        else { return false }
        return options.isTrue("include_usage")
    }
}
