import NIOCore

/// `POST /v1/completions`: OpenAI's legacy `text_completion`, plain and streamed.
enum OpenAICompletions {
    static let defaultModel: StaticString = "gpt-3.5-turbo-instruct"

    static func respond(_ context: RequestContext) throws(APIError) -> Outcome {
        let json = context.json
        let model = try context.modelLiteral(default: defaultModel)
        let usage = Usage(
            prompt: TokenEstimate.tokens(forBytes: json.length("prompt")),
            completion: context.reply.tokenCount
        )
        guard json.isTrue("stream") else {
            var body = header(context, model: model, capacity: 384)
            body.writeStaticString("[{\"text\":")
            body.writeJSONString(context.reply.text)
            body.writeStaticString(",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}],")
            usage.writeOpenAI(into: &body)
            body.writeStaticString("}")
            return .json(body)
        }

        let includeUsage = StreamOptions.includeUsage(in: json)
        var plan = StreamPlan()
        func choice(_ text: String, finish: StaticString) -> ByteBuffer {
            var data = header(context, model: model, capacity: 256)
            data.writeStaticString("[{\"text\":")
            data.writeJSONString(text)
            data.writeStaticString(",\"index\":0,\"logprobs\":null,\"finish_reason\":")
            data.writeStaticString(finish)
            data.writeStaticString(includeUsage ? "}],\"usage\":null}" : "}]}")
            return data
        }
        for piece in context.reply.pieces {
            plan.append(choice(piece, finish: "null"))
        }
        plan.append(choice("", finish: "\"stop\""))
        if includeUsage {
            var data = header(context, model: model, capacity: 256)
            data.writeStaticString("[],")
            usage.writeOpenAI(into: &data)
            data.writeStaticString("}")
            plan.append(data)
        }
        plan.append(OpenAIChat.doneMarker(context.allocator))
        return .stream(plan)
    }

    /// `{"id":…,"object":"text_completion","created":…,"model":…,"choices":` — the shared prefix.
    private static func header(_ context: RequestContext, model: ByteBuffer, capacity: Int) -> ByteBuffer {
        var body = context.allocator.buffer(capacity: capacity)
        body.writeStaticString("{\"id\":\"cmpl-mock-")
        body.writeJSONInt(context.number)
        body.writeStaticString("\",\"object\":\"text_completion\",\"created\":")
        body.writeJSONInt(context.created)
        body.writeStaticString(",\"model\":")
        body.writeImmutableBuffer(model)
        body.writeStaticString(",\"choices\":")
        return body
    }
}
