import Foundation
import NIOCore

/// `POST /v1/embeddings` in OpenAI's format, with float or base64 vectors.
///
/// Vectors are derived from a hash of each input, so the same text always maps to the same
/// unit-length vector and tests can compare results across calls and through the gateway.
enum OpenAIEmbeddings {
    static let defaultModel: StaticString = "text-embedding-3-small"
    static let defaultDimensions = 8

    /// One input: its hashing key and how many tokens it counts for.
    struct Input {
        var key: String
        var tokens: Int
    }

    static func respond(_ context: RequestContext) throws(APIError) -> Outcome {
        let json = context.json
        let model = try context.modelLiteral(default: defaultModel)
        let inputs = try parseInputs(json)
        let dimensions = json.field("dimensions") == nil ? defaultDimensions : json.int("dimensions") ?? 0
        guard (1...65_536).contains(dimensions) else {
            throw .badRequest("Invalid 'dimensions': expected an integer between 1 and 65536.")
        }
        let base64: Bool
        switch json.string("encoding_format") {
        case nil, "float": base64 = false
        case "base64": base64 = true
        default: throw .badRequest("Invalid 'encoding_format': expected 'float' or 'base64'.")
        }

        var body = context.allocator.buffer(capacity: 128 + inputs.count * dimensions * 12)
        body.writeStaticString("{\"object\":\"list\",\"data\":[")
        for (index, input) in inputs.enumerated() {
            let vector = vector(for: input.key, dimensions: dimensions)
            body.writeStaticString(index == 0 ? "{" : ",{")
            body.writeStaticString("\"object\":\"embedding\",\"index\":")
            body.writeJSONInt(index)
            body.writeStaticString(",\"embedding\":")
            if base64 {
                body.writeJSONString(encodeBase64(vector))
            } else {
                body.writeStaticString("[")
                for (position, value) in vector.enumerated() {
                    if position > 0 { body.writeStaticString(",") }
                    body.writeJSONFloat(value)
                }
                body.writeStaticString("]")
            }
            body.writeStaticString("}")
        }
        let tokens = inputs.reduce(0) { $0 + $1.tokens }
        body.writeStaticString("],\"model\":")
        body.writeImmutableBuffer(model)
        body.writeStaticString(",\"usage\":{\"prompt_tokens\":")
        body.writeJSONInt(tokens)
        body.writeStaticString(",\"total_tokens\":")
        body.writeJSONInt(tokens)
        body.writeStaticString("}}")
        return .json(body)
    }

    /// Accepts a string, an array of strings, a token array, or an array of token arrays.
    static func parseInputs(_ json: JSONBody) throws(APIError) -> [Input] {
        guard let field = json.field("input") else {
            throw .badRequest("'input' is a required property")
        }
        if let text = json.string(of: field) {
            return [textInput(text)]
        }
        guard field.kind == .array, let items = json.decode(field) as? [Any], !items.isEmpty else {
            throw .badRequest("Invalid 'input': expected a non-empty string or array.")
        }
        if let texts = items as? [String] {
            return texts.map(textInput)
        }
        if let tokens = tokenArray(items) {
            return [tokenInput(tokens)]
        }
        var inputs: [Input] = []
        for item in items {
            guard let list = item as? [Any], let tokens = tokenArray(list) else {
                throw .badRequest("Invalid 'input': arrays must hold only strings, or only token arrays.")
            }
            inputs.append(tokenInput(tokens))
        }
        return inputs
    }

    private static func textInput(_ text: String) -> Input {
        Input(key: text, tokens: TokenEstimate.tokens(forBytes: text.utf8.count))
    }

    private static func tokenInput(_ tokens: [Int]) -> Input {
        Input(key: "tokens:" + tokens.map(String.init).joined(separator: ","), tokens: tokens.count)
    }

    /// Integers only; fractions and non-numbers are rejected.
    private static func tokenArray(_ items: [Any]) -> [Int]? {
        guard !items.isEmpty else { return nil }
        var tokens: [Int] = []
        for item in items {
            guard let number = item as? NSNumber, let value = Int(exactly: number.doubleValue) else {
                return nil
            }
            tokens.append(value)
        }
        return tokens
    }

    /// A deterministic unit vector: FNV-1a of the key seeds a SplitMix64 stream.
    static func vector(for key: String, dimensions: Int) -> [Float] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        var values = [Float](repeating: 0, count: dimensions)
        var norm: Double = 0
        for index in 0..<dimensions {
            state &+= 0x9e37_79b9_7f4a_7c15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
            mixed ^= mixed >> 31
            let unit = Double(mixed >> 11) / Double(1 << 53) * 2 - 1
            values[index] = Float(unit)
            norm += unit * unit
        }
        let scale = norm > 0 ? Float(1 / norm.squareRoot()) : 1
        return values.map { $0 * scale }
    }

    /// Little-endian float32 bytes, base64 encoded, as the OpenAI API returns them.
    static func encodeBase64(_ vector: [Float]) -> String {
        var bytes = Data(capacity: vector.count * 4)
        for value in vector {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes.base64EncodedString()
    }
}
