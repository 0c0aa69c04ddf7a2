public import NIOCore

/// Reads upstream error bodies, so the gateway can put them in the client's error shape.
enum UpstreamErrorBody {
    /// The error an upstream body describes, and the client dialect whose error shape the body
    /// already has (nil for neither): OpenAI's `{"error":{"message":…}}`, or the Messages dialect's
    /// `{"type":"error","error":{…}}`. The body is decoded once for both.
    static func parse(status: Int, body: ByteBuffer, provider: String) -> (GatewayError, shape: ClientDialect?) {
        var message: String?
        var type: String?
        var code: String?
        var shape: ClientDialect?
        if let object = JSONTree.parse(body), case .object = object {
            if let error = object["error"], case .object = error {
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
            let text = String(decoding: body.readableBytesView.prefix(2000), as: UTF8.self)
            let trimmed = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            message = trimmed.isEmpty ? nil : trimmed
        }
        let error = GatewayError(
            status: status, type: type.map(ErrorType.init(rawValue:)) ?? Self.type(for: status),
            message: "provider '\(provider)' returned HTTP \(status)" + (message.map { ": \($0)" } ?? ""),
            code: code.map(ErrorCode.init(rawValue:)))
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
