import FoundationEssentials
public import NIOCore

/// Reads upstream error bodies, so the gateway can put them in the client's error shape.
enum UpstreamErrorBody {
    /// The error an upstream body describes, and the client dialect whose error shape the body
    /// already has (nil for neither): OpenAI's `{"error":{"message":…}}`, or the Messages dialect's
    /// `{"type":"error","error":{…}}`. The body is decoded once for both.
    static func parse(status: Int, body: ByteBuffer, provider: String) -> (GatewayError, shape: ClientDialect?) {
        let bytes = Data(body.readableBytesView)
        var message: String?
        var type: String?
        var code: String?
        var shape: ClientDialect?
        if let object = try? JSONDecoder().decode([String: LooseJSON].self, from: bytes) {
            if case .object(let error)? = object["error"] {
                if case .string("error")? = object["type"] {
                    shape = .messages
                } else if case .string? = error["message"] {
                    shape = .openAI
                }
                message = error["message"]?.text ?? error["msg"]?.text
                type = error["type"]?.text ?? error["status"]?.text
            } else if case .string(let error)? = object["error"] {
                message = error
            }
            message = message ?? object["message"]?.text ?? object["detail"]?.text
            type = type ?? object["type"]?.text
            code = object["code"]?.text
        } else {
            let text = String(decoding: bytes.prefix(2000), as: UTF8.self)
            let trimmed = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            message = trimmed.isEmpty ? nil : trimmed
        }
        let error = GatewayError(
            status: status, type: type.map(ErrorType.init(rawValue:)) ?? Self.type(for: status),
            message: "provider '\(provider)' returned HTTP \(status)" + (message.map { ": \($0)" } ?? ""),
            code: code)
        return (error, shape)
    }

    /// Statuses worth another try (or another target) whatever the provider: timeouts, conflicts,
    /// throttling and transient server errors. A provider's own codes (an overloaded or throttled
    /// answer under another status) are its script's `error(ctx, res)` to say.
    static let retryableStatuses: Set<Int> = [408, 409, 425, 429, 500, 502, 503, 504]

    static func type(for status: Int) -> ErrorType {
        switch status {
        case 400, 404, 413, 422: return .invalidRequest
        case 401, 403: return .authentication
        case 408, 504: return .timeout
        case 429: return .rateLimit
        default: return status >= 500 ? .server : .upstream
        }
    }
}

/// Any JSON value, decoded only as far as error normalization needs.
enum LooseJSON: Decodable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([LooseJSON])
    case object([String: LooseJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode([LooseJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: LooseJSON].self))
        }
    }

    /// Compact JSON text of the value (for override_params and messages).
    var jsonText: String {
        switch self {
        case .string(let value): return JSONText.quote(value)
        case .number(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.keys.sorted().map { JSONText.quote($0) + ":" + members[$0]!.jsonText }.joined(separator: ",") + "}"
        }
    }

    subscript(key: String) -> LooseJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// A short human-readable rendering (strings as is, numbers without a needless ".0").
    var text: String? {
        switch self {
        case .string(let value): return value
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .bool(let value): return String(value)
        case .null: return nil
        case .array(let values): return "[" + values.compactMap(\.text).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.text ?? "null")" }.joined(separator: ", ") + "}"
        }
    }
}
