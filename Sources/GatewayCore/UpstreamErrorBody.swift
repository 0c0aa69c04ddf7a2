import Foundation
import NIOCore

/// Makes upstream error bodies OpenAI-shaped, so clients parse them like any OpenAI error.
enum UpstreamErrorBody {
    /// Returns a replacement body, or nil when the upstream already answered in OpenAI's shape.
    static func normalize(status: Int, body: ByteBuffer, provider: String) -> ByteBuffer? {
        let bytes = Data(body.readableBytesView)
        var message: String?
        var type: String?
        var code: String?
        if let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] {
            if let error = object["error"] as? [String: Any], error["message"] is String {
                return nil  // already {"error":{"message":...}}
            }
            if let error = object["error"] as? [String: Any] {
                message = (error["message"] as? String) ?? (error["msg"] as? String)
                type = error["type"] as? String ?? error["status"] as? String
            } else if let error = object["error"] as? String {
                message = error
            }
            message = message ?? object["message"] as? String ?? object["detail"] as? String
                ?? (object["detail"]).map { "\($0)" }
            type = type ?? object["type"] as? String
            if let c = object["code"] { code = "\(c)" }
        } else {
            let text = String(decoding: bytes.prefix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            message = text.isEmpty ? nil : text
        }
        let error = GatewayError(
            status: status, type: type ?? Self.type(for: status),
            message: "provider '\(provider)' returned HTTP \(status)" + (message.map { ": \($0)" } ?? ""),
            code: code)
        return ByteBuffer(bytes: error.body)
    }

    static func type(for status: Int) -> String {
        switch status {
        case 400, 404, 413, 422: return "invalid_request_error"
        case 401, 403: return "authentication_error"
        case 408, 504: return "timeout_error"
        case 429: return "rate_limit_error"
        default: return status >= 500 ? "server_error" : "upstream_error"
        }
    }
}
