import NIOCore
import NIOHTTP1

/// An error an endpoint wants to answer with, independent of the wire dialect.
struct APIError: Error, Sendable {
    var status: HTTPResponseStatus
    var message: String
    /// OpenAI's `error.type`; other dialects derive their type from `status`.
    var openAIType = "invalid_request_error"
    /// OpenAI's `error.code` (`null` when nil).
    var openAICode: String?

    static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, message: message)
    }

    /// What `status`/`fail_first` injection produces.
    static func injected(_ code: Int) -> APIError {
        APIError(
            status: status(code),
            message: "mock injected status \(code)",
            openAIType: "mock_error",
            openAICode: "mock_\(code)"
        )
    }
}

extension APIError {
    /// A status for any code; codes NIO has no reason phrase for get one, so the status line
    /// stays well-formed (`HTTP/1.1 529 Site Overloaded`).
    static func status(_ code: Int) -> HTTPResponseStatus {
        let status = HTTPResponseStatus(statusCode: code)
        guard status.reasonPhrase.isEmpty else { return status }
        return .custom(code: UInt(code), reasonPhrase: code == 529 ? "Site Overloaded" : "Mock Status")
    }
}

/// The error-body conventions of the three provider families the mock imitates.
///
/// Why: gateways translate and classify upstream errors, so each path must fail exactly the way
/// its real provider does, while `error_format` can deliberately break that contract.
enum Dialect: Sendable {
    case openAI, anthropic, gemini

    /// Renders `error` as a complete reply in this dialect (or in the `format` override).
    func reply(for error: APIError, format: MockControls.ErrorFormat, allocator: ByteBufferAllocator) -> Reply {
        var body = allocator.buffer(capacity: 160)
        switch format {
        case .text:
            body.writeString(error.message)
            return Reply(status: error.status, contentType: "text/plain; charset=utf-8", body: .full(body))
        case .other:
            body.writeStaticString("{\"detail\":")
            body.writeJSONString(error.message)
            body.writeStaticString("}")
        case .dialect:
            writeDialectBody(for: error, into: &body)
        }
        return .json(body, status: error.status)
    }

    private func writeDialectBody(for error: APIError, into body: inout ByteBuffer) {
        switch self {
        case .openAI:
            body.writeStaticString("{\"error\":{\"message\":")
            body.writeJSONString(error.message)
            body.writeStaticString(",\"type\":")
            body.writeJSONString(error.openAIType)
            body.writeStaticString(",\"param\":null,\"code\":")
            body.writeJSONStringOrNull(error.openAICode)
            body.writeStaticString("}}")
        case .anthropic:
            body.writeStaticString("{\"type\":\"error\",\"error\":{\"type\":")
            body.writeJSONString(Self.messagesType(error.status.code))
            body.writeStaticString(",\"message\":")
            body.writeJSONString(error.message)
            body.writeStaticString("}}")
        case .gemini:
            body.writeStaticString("{\"error\":{\"code\":")
            body.writeJSONInt(Int(error.status.code))
            body.writeStaticString(",\"message\":")
            body.writeJSONString(error.message)
            body.writeStaticString(",\"status\":")
            body.writeJSONString(Self.googleStatus(error.status.code))
            body.writeStaticString("}}")
        }
    }

    /// Anthropic's documented error types by HTTP status.
    static func messagesType(_ code: UInt) -> String {
        switch code {
        case 400: "invalid_request_error"
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 504: "timeout_error"
        case 529: "overloaded_error"
        case 400..<500: "invalid_request_error"
        default: "api_error"
        }
    }

    /// Google's canonical status names as used by the Gemini API.
    static func googleStatus(_ code: UInt) -> String {
        switch code {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 409: "ABORTED"
        case 429: "RESOURCE_EXHAUSTED"
        case 499: "CANCELLED"
        case 500: "INTERNAL"
        case 501: "NOT_IMPLEMENTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        case 400..<500: "FAILED_PRECONDITION"
        default: "UNKNOWN"
        }
    }
}
