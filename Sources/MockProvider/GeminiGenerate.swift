import NIOCore

/// Gemini `models/{model}:generateContent`, `:streamGenerateContent` and `:countTokens`.
///
/// Streams use SSE (`data: {GenerateContentResponse}\n\n`) with `?alt=sse`, and otherwise the
/// REST default: one JSON array delivered incrementally. Only the last piece carries
/// `finishReason` and `usageMetadata`.
enum GeminiGenerate {
    static func generate(_ context: RequestContext, model: String) throws(APIError) -> Outcome {
        try validate(context.json)
        let usage = usage(context)
        var body = context.allocator.buffer(capacity: 384)
        writeResponse(text: context.reply.text, final: true, usage: usage, model: model, into: &body)
        return .json(body)
    }

    static func stream(_ context: RequestContext, model: String, sse: Bool) throws(APIError) -> Outcome {
        try validate(context.json)
        let usage = usage(context)
        var plan = StreamPlan()
        plan.framing = sse ? .serverSentEvents : .jsonArray
        let pieces = context.reply.pieces.isEmpty ? [""] : context.reply.pieces
        for (index, piece) in pieces.enumerated() {
            var data = context.allocator.buffer(capacity: 256)
            writeResponse(text: piece, final: index == pieces.count - 1, usage: usage, model: model, into: &data)
            plan.append(data)
        }
        return .stream(plan)
    }

    static func countTokens(_ context: RequestContext) throws(APIError) -> Outcome {
        try validate(context.json)
        var body = context.allocator.buffer(capacity: 32)
        body.writeStaticString("{\"totalTokens\":")
        body.writeJSONInt(usage(context).prompt)
        body.writeStaticString("}")
        return .json(body)
    }

    private static func validate(_ json: JSONBody) throws(APIError) {
        if let contents = json.field("contents"), contents.kind != .array {
            throw .badRequest("Invalid value at 'contents': expected a list.")
        }
    }

    private static func usage(_ context: RequestContext) -> Usage {
        let json = context.json
        return Usage(
            prompt: TokenEstimate.tokens(forBytes: json.length("contents") + json.length("systemInstruction")),
            completion: context.reply.tokenCount
        )
    }

    /// One `GenerateContentResponse`; `final` adds `finishReason` and `usageMetadata`.
    private static func writeResponse(
        text: String,
        final: Bool,
        usage: Usage,
        model: String,
        into body: inout ByteBuffer
    ) {
        body.writeStaticString("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":")
        body.writeJSONString(text)
        body.writeStaticString("}],\"role\":\"model\"}")
        if final {
            body.writeStaticString(",\"finishReason\":\"STOP\"")
        }
        body.writeStaticString(",\"index\":0}]")
        if final {
            body.writeStaticString(",\"usageMetadata\":{\"promptTokenCount\":")
            body.writeJSONInt(usage.prompt)
            body.writeStaticString(",\"candidatesTokenCount\":")
            body.writeJSONInt(usage.completion)
            body.writeStaticString(",\"totalTokenCount\":")
            body.writeJSONInt(usage.prompt + usage.completion)
            body.writeStaticString("}")
        }
        body.writeStaticString(",\"modelVersion\":")
        body.writeJSONString(model)
        body.writeStaticString("}")
    }
}
