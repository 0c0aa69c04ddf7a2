import Foundation
import NIOCore

/// `POST /v1/images/generations` (JSON), `/v1/images/edits` and `/v1/images/variations`
/// (multipart/form-data), in OpenAI's shape.
///
/// Reference: OpenAI API reference, Images (https://platform.openai.com/docs/api-reference/images,
/// read through the SDK typings and the notes in /work/notes/issue19-providers.md §3): answer
/// `{created, data:[{url | b64_json, revised_prompt?}], usage?}`; GPT Image models always return
/// `b64_json` and report token `usage`; `dall-e-3` revises the prompt. With `stream: true` (GPT
/// Image models) the answer is SSE: `image_generation.partial_image` events (`partial_images`, 0–3)
/// and `image_generation.completed` (`image_edit.*` for edits), each `{type, b64_json, created_at,
/// size, quality, background, output_format}` plus `partial_image_index` or `usage` (event shapes
/// from the SDK typings). Not verified: the exact error texts for bad sizes or counts.
///
/// Deterministic content a test can recompute: each image is the 8-byte PNG signature followed by
/// `sha256("<index>:<seed>")`, where the seed is the prompt (generations) or
/// `"<sha256 of the uploaded image>:<prompt>"` (edits, variations). Edits and variations also
/// name the upload's byte count and SHA-256 in `revised_prompt`, so a test proves the multipart
/// upload arrived byte for byte.
enum OpenAIImages {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
    static let sizes: Set<String> = ["auto", "256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792"]

    static func generate(_ json: JSONBody, number: Int, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let prompt = json.string("prompt"), !prompt.isEmpty else {
            throw .badRequest("'prompt' is a required property")
        }
        let model = json.string("model") ?? "dall-e-2"
        let n = json.has("n") ? json.int("n") : 1
        let format = json.string("response_format")
        let size = json.string("size") ?? "1024x1024"
        let stream = json.isTrue("stream") ? try streamOptions(model: model, partialImages: json.has("partial_images") ? json.int("partial_images") : 0) : nil
        return try answer(seed: prompt, model: model, n: n, format: format, size: size, prompt: prompt,
                          revised: model == "dall-e-3" ? "A mock rendering of: \(prompt)" : nil,
                          stream: stream.map { ("image_generation", $0) }, allocator: allocator)
    }

    /// Streaming is for GPT Image models only, with 0 to 3 partial images.
    private static func streamOptions(model: String, partialImages: Int?) throws(APIError) -> Int {
        guard model.hasPrefix("gpt-image") else { throw .badRequest("Streaming is only supported for GPT Image models, not \(model).") }
        guard let partialImages, (0...3).contains(partialImages) else {
            throw .badRequest("Invalid 'partial_images': expected an integer between 0 and 3.")
        }
        return partialImages
    }

    static func edit(_ request: MockRequest, variation: Bool, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let form = try FormData(request)
        let images = form.parts.filter { $0.name == "image" || $0.name == "image[]" }
        guard !images.isEmpty else { throw .badRequest("'image' is a required file field.") }
        let prompt = form.field("prompt") ?? ""
        if !variation, prompt.isEmpty { throw .badRequest("'prompt' is a required property") }
        let model = form.field("model") ?? (variation ? "dall-e-2" : "gpt-image-1")
        let digests = images.map { Digest.sha256Hex($0.body) }
        let mask = form.part("mask")
        var description = (variation ? "variation of" : "edit of")
        for (image, digest) in zip(images, digests) {
            description += " image \(image.filename ?? "-") bytes=\(image.body.count) sha256=\(digest)"
        }
        if let mask { description += "; mask bytes=\(mask.body.count) sha256=\(Digest.sha256Hex(mask.body))" }
        if !prompt.isEmpty { description += "; prompt: \(prompt)" }
        let stream = form.field("stream") == "true" && !variation
            ? try streamOptions(model: model, partialImages: try form.int("partial_images") ?? 0) : nil
        return try answer(seed: digests.joined(separator: ",") + ":" + prompt, model: model, n: try form.int("n") ?? 1,
                          format: form.field("response_format"), size: form.field("size") ?? "1024x1024",
                          prompt: prompt, revised: description, stream: stream.map { ("image_edit", $0) }, allocator: allocator)
    }

    /// The image bytes for item `index` of `seed`.
    static func payload(seed: String, index: Int) -> [UInt8] {
        pngSignature + Digest.sha256(Array("\(index):\(seed)".utf8))
    }

    private static func answer(
        seed: String, model: String, n: Int?, format: String?, size: String, prompt: String, revised: String?,
        stream: (prefix: String, partials: Int)? = nil, allocator: ByteBufferAllocator
    ) throws(APIError) -> Outcome {
        guard let n, (1...10).contains(n) else { throw .badRequest("Invalid 'n': expected an integer between 1 and 10.") }
        guard sizes.contains(size) else { throw .badRequest("Invalid 'size': '\(size)' is not a supported size.") }
        let gptImage = model.hasPrefix("gpt-image")
        let base64: Bool
        switch format {
        case nil: base64 = gptImage
        case "b64_json": base64 = true
        case "url": base64 = false
        case let other?: throw .badRequest("Invalid 'response_format': '\(other)'; expected 'url' or 'b64_json'.")
        }
        let textTokens = TokenEstimate.tokens(forBytes: prompt.utf8.count)
        let usage: [String: Any] = [
            "input_tokens": textTokens, "output_tokens": 272 * n, "total_tokens": textTokens + 272 * n,
            "input_tokens_details": ["text_tokens": textTokens, "image_tokens": 0],
        ]
        let created = Int(Date().timeIntervalSince1970)
        if let stream {
            // `<prefix>.partial_image` events (payload seed "partial<k>:<seed>"), then one
            // `<prefix>.completed` per image carrying the final image and the usage.
            var plan = StreamPlan()
            let common: [String: Any] = ["created_at": created, "size": size, "quality": "auto", "background": "auto", "output_format": "png"]
            for index in 0..<n {
                for partial in 0..<stream.partials {
                    var event = common
                    event["type"] = "\(stream.prefix).partial_image"
                    event["partial_image_index"] = partial
                    event["b64_json"] = Data(payload(seed: "partial\(partial):" + seed, index: index)).base64EncodedString()
                    plan.append(OpenAIAudio.jsonBuffer(event, allocator: allocator), name: "\(stream.prefix).partial_image")
                }
                var event = common
                event["type"] = "\(stream.prefix).completed"
                event["b64_json"] = Data(payload(seed: seed, index: index)).base64EncodedString()
                event["usage"] = usage
                plan.append(OpenAIAudio.jsonBuffer(event, allocator: allocator), name: "\(stream.prefix).completed")
            }
            return .stream(plan)
        }
        var data: [[String: Any]] = []
        for index in 0..<n {
            var item: [String: Any] = [:]
            let bytes = payload(seed: seed, index: index)
            if base64 {
                item["b64_json"] = Data(bytes).base64EncodedString()
            } else {
                item["url"] = "https://images.mock.invalid/\(Digest.hex(Array(bytes.dropFirst(pngSignature.count)))).png"
            }
            if let revised { item["revised_prompt"] = revised }
            data.append(item)
        }
        var object: [String: Any] = ["created": created, "data": data]
        if gptImage {
            object["usage"] = usage
            object["size"] = size
            object["output_format"] = "png"
        }
        return EndpointSupport.json(object, allocator: allocator)
    }
}
