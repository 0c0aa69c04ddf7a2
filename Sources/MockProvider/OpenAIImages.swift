import Foundation
import NIOCore

/// `POST /v1/images/generations` (JSON), `/v1/images/edits` and `/v1/images/variations`
/// (multipart/form-data), in OpenAI's shape.
///
/// Reference: OpenAI API reference, Images (https://platform.openai.com/docs/api-reference/images,
/// read through the SDK typings and the notes in /work/notes/issue19-providers.md §3): answer
/// `{created, data:[{url | b64_json, revised_prompt?}], usage?}`; GPT Image models always return
/// `b64_json` and report token `usage`; `dall-e-3` revises the prompt. Not verified: the exact
/// error texts for bad sizes or counts.
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
        return try answer(seed: prompt, model: model, n: n, format: format, size: size, prompt: prompt,
                          revised: model == "dall-e-3" ? "A mock rendering of: \(prompt)" : nil, allocator: allocator)
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
        return try answer(seed: digests.joined(separator: ",") + ":" + prompt, model: model, n: try form.int("n") ?? 1,
                          format: form.field("response_format"), size: form.field("size") ?? "1024x1024",
                          prompt: prompt, revised: description, allocator: allocator)
    }

    /// The image bytes for item `index` of `seed`.
    static func payload(seed: String, index: Int) -> [UInt8] {
        pngSignature + Digest.sha256(Array("\(index):\(seed)".utf8))
    }

    private static func answer(
        seed: String, model: String, n: Int?, format: String?, size: String, prompt: String, revised: String?,
        allocator: ByteBufferAllocator
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
        var object: [String: Any] = ["created": Int(Date().timeIntervalSince1970), "data": data]
        if gptImage {
            let textTokens = TokenEstimate.tokens(forBytes: prompt.utf8.count)
            let output = 272 * n
            object["usage"] = [
                "input_tokens": textTokens, "output_tokens": output, "total_tokens": textTokens + output,
                "input_tokens_details": ["text_tokens": textTokens, "image_tokens": 0],
            ]
            object["size"] = size
            object["output_format"] = "png"
        }
        return EndpointSupport.json(object, allocator: allocator)
    }
}
