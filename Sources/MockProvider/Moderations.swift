import Foundation
import NIOCore

/// `POST /v1/moderations` in OpenAI's shape.
///
/// Reference: OpenAI API reference, Moderations (https://platform.openai.com/docs/api-reference/moderations):
/// `input` is a string, an array of strings, or an array of multimodal parts (`{type:"text", text}`,
/// `{type:"image_url", image_url:{url}}`) which is judged as one input; the answer is `{id, model,
/// results:[{flagged, categories, category_scores, category_applied_input_types}]}`, one result
/// per input. Category names as in the reference; which categories apply to images (violence,
/// self-harm, sexual) is from the reference's description of omni-moderation, not re-read.
///
/// Deterministic verdicts: an input containing the word "kill" is flagged for `violence` (score
/// 0.9731); everything else scores 0.0001 and is not flagged.
enum Moderations {
    static let categories = [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
        "violence/graphic",
    ]
    static let imageCategories: Set<String> = [
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence", "violence/graphic",
    ]

    static func respond(_ json: JSONBody, number: Int, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let input = json.decode("input") else { throw .badRequest("'input' is a required property") }
        // Each input: its text and whether it had an image.
        var inputs: [(text: String, image: Bool, hasText: Bool)] = []
        if let text = input as? String {
            inputs.append((text, false, true))
        } else if let list = input as? [Any], !list.isEmpty {
            if let strings = list as? [String] {
                inputs = strings.map { ($0, false, true) }
            } else {
                var text = ""
                var image = false
                var hasText = false
                for case let part as [String: Any] in list {
                    switch part["type"] as? String {
                    case "text":
                        guard let value = part["text"] as? String else { throw .badRequest("A text part needs 'text'.") }
                        text += value + "\n"
                        hasText = true
                    case "image_url":
                        guard (part["image_url"] as? [String: Any])?["url"] is String else {
                            throw .badRequest("An image_url part needs 'image_url.url'.")
                        }
                        image = true
                    default:
                        throw .badRequest("Invalid 'input': parts must be of type 'text' or 'image_url'.")
                    }
                }
                guard hasText || image, list.count == list.compactMap({ $0 as? [String: Any] }).count else {
                    throw .badRequest("Invalid 'input': expected a string, strings, or multimodal parts.")
                }
                inputs.append((text, image, hasText))
            }
        } else {
            throw .badRequest("Invalid 'input': expected a string, strings, or multimodal parts.")
        }
        let results: [[String: Any]] = inputs.map { input in
            let violent = Rerank.words(input.text).contains("kill")
            var flags: [String: Bool] = [:]
            var scores: [String: Double] = [:]
            var applied: [String: [String]] = [:]
            for category in categories {
                let hit = violent && category == "violence"
                flags[category] = hit
                scores[category] = hit ? 0.9731 : 0.0001
                var types: [String] = input.hasText ? ["text"] : []
                if input.image, imageCategories.contains(category) { types.append("image") }
                applied[category] = types
            }
            return [
                "flagged": violent, "categories": flags, "category_scores": scores,
                "category_applied_input_types": applied,
            ]
        }
        let object: [String: Any] = [
            "id": "modr-mock-\(number)",
            "model": json.string("model") ?? "omni-moderation-latest",
            "results": results,
        ]
        return EndpointSupport.json(object, allocator: allocator)
    }
}
