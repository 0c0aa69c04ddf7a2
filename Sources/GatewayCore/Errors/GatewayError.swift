public import LuaRuntime

/// An error the gateway answers itself, always rendered in OpenAI's error shape
/// `{"error":{"message","type","param","code"}}` so every OpenAI client surfaces it.
/// The `type` of an error: the gateway's own are the constants here; a script's or a provider's
/// error may carry any other (it reaches the client as it is).
public struct ErrorType: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let invalidRequest: ErrorType = "invalid_request_error"
    public static let authentication: ErrorType = "authentication_error"
    public static let rateLimit: ErrorType = "rate_limit_error"
    public static let timeout: ErrorType = "timeout_error"
    public static let upstream: ErrorType = "upstream_error"
    public static let server: ErrorType = "server_error"
    public static let script: ErrorType = "script_error"
    public static let config: ErrorType = "config_error"
    public static let requestCancelled: ErrorType = "request_cancelled"
    public static let guardrail: ErrorType = "guardrail_error"
}

/// The `code` of an error: the gateway's own are the constants here (one place to read them all);
/// a script's or a provider's error may carry any other (it reaches the client as it is).
public struct ErrorCode: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let allTargetsFailed: ErrorCode = "all_targets_failed"
    public static let rateLimitExceeded: ErrorCode = "rate_limit_exceeded"
    public static let limitStoreFailed: ErrorCode = "limit_store_failed"
    public static let budgetExceeded: ErrorCode = "budget_exceeded"
    public static let limitStoreUnavailable: ErrorCode = "limit_store_unavailable"
    public static let badHttpRequest: ErrorCode = "bad_http_request"
    public static let clientClosedRequest: ErrorCode = "client_closed_request"
    public static let clientTimeout: ErrorCode = "client_timeout"
    public static let coolingDown: ErrorCode = "cooling_down"
    public static let customHostWithStoredKey: ErrorCode = "custom_host_with_stored_key"
    public static let imageFetchFailed: ErrorCode = "image_fetch_failed"
    public static let invalidAdminToken: ErrorCode = "invalid_admin_token"
    public static let invalidConfig: ErrorCode = "invalid_config"
    public static let invalidGatewayKey: ErrorCode = "invalid_gateway_key"
    public static let invalidHeader: ErrorCode = "invalid_header"
    public static let invalidJson: ErrorCode = "invalid_json"
    public static let invalidModel: ErrorCode = "invalid_model"
    public static let invalidMultipart: ErrorCode = "invalid_multipart"
    public static let tokenExchangeFailed: ErrorCode = "token_exchange_failed"
    public static let invalidUpstreamResponse: ErrorCode = "invalid_upstream_response"
    public static let invalidUpstreamUrl: ErrorCode = "invalid_upstream_url"
    public static let invalidVirtualKeys: ErrorCode = "invalid_virtual_keys"
    public static let methodNotAllowed: ErrorCode = "method_not_allowed"
    public static let missingProvider: ErrorCode = "missing_provider"
    public static let noRoute: ErrorCode = "no_route"
    public static let pipelineError: ErrorCode = "pipeline_error"
    public static let requestDenied: ErrorCode = "request_denied"
    public static let requestLog: ErrorCode = "request_log"
    public static let requestTimeout: ErrorCode = "request_timeout"
    public static let requestTooLarge: ErrorCode = "request_too_large"
    public static let scriptError: ErrorCode = "script_error"
    public static let shuttingDown: ErrorCode = "shutting_down"
    public static let storedKeyProviderMismatch: ErrorCode = "stored_key_provider_mismatch"
    public static let streamInterrupted: ErrorCode = "stream_interrupted"
    public static let streamTruncated: ErrorCode = "stream_truncated"
    public static let tooManyImages: ErrorCode = "too_many_images"
    public static let unknownConfig: ErrorCode = "unknown_config"
    public static let unknownProvider: ErrorCode = "unknown_provider"
    public static let unknownRoute: ErrorCode = "unknown_route"
    public static let unknownVirtualKey: ErrorCode = "unknown_virtual_key"
    public static let unsupportedEndpoint: ErrorCode = "unsupported_endpoint"
    public static let upstreamError: ErrorCode = "upstream_error"
    public static let upstreamTimeout: ErrorCode = "upstream_timeout"
    public static let upstreamUnreachable: ErrorCode = "upstream_unreachable"
}

public struct GatewayError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var type: ErrorType
    public var message: String
    public var param: String?
    public var code: ErrorCode?
    /// Extra response headers (e.g. `Allow` on 405).
    public var headers: [(String, String)] = []

    public init(status: Int, type: ErrorType, message: String, param: String? = nil, code: ErrorCode? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// The JSON body.
    public var body: [UInt8] {
        var out = #"{"error":{"message":"#
        out += JSONText.quote(message)
        out += #","type":"# + JSONText.quote(type.rawValue)
        out += #","param":"# + (param.map(JSONText.quote) ?? "null")
        out += #","code":"# + (code.map { JSONText.quote($0.rawValue) } ?? "null")
        out += "}}"
        return Array(out.utf8)
    }

    /// The same error in the Messages dialect's shape `{"type":"error","error":{"type","message"}}`,
    /// for clients of `/v1/messages` (the Anthropic SDK maps its exception classes from the status).
    public var messagesBody: [UInt8] {
        var out = #"{"type":"error","error":{"type":"# + JSONText.quote(Self.messagesType(status))
        out += #","message":"# + JSONText.quote(message) + "}}"
        return Array(out.utf8)
    }

    /// The Messages dialect's error types by status (https://docs.anthropic.com/en/api/errors).
    public static func messagesType(_ status: Int) -> String {
        switch status {
        case 400, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 529, 503: "overloaded_error"
        case 408, 504: "timeout_error"
        default: "api_error"
        }
    }
}

extension GatewayError {
    public static func missingProvider() -> GatewayError {
        GatewayError(
            status: 400, type: .invalidRequest,
            message: "missing the x-portkey-provider header: name the provider to route to, e.g. 'x-portkey-provider: openai'",
            param: "x-portkey-provider", code: .missingProvider)
    }

    public static func unknownProvider(_ id: String, known: [String]) -> GatewayError {
        GatewayError(
            status: 400, type: .invalidRequest,
            message: "unknown provider '\(id)' in x-portkey-provider; known providers: \(known.joined(separator: ", "))",
            param: "x-portkey-provider", code: .unknownProvider)
    }

    /// The provider's endpoint table neither lists `path` nor has a converter to an endpoint it does.
    public static func unsupportedEndpoint(provider: String, path: String, supported: [String]) -> GatewayError {
        GatewayError(
            status: 400, type: .invalidRequest,
            message: "provider '\(provider)' does not support \(path); it supports: \(supported.isEmpty ? "none" : supported.joined(separator: ", "))",
            code: .unsupportedEndpoint)
    }

    public static func invalidHeader(_ name: String, _ reason: String) -> GatewayError {
        GatewayError(status: 400, type: .invalidRequest, message: "invalid \(name) header: \(reason)",
                     param: name, code: .invalidHeader)
    }

    public static func invalidJSON(_ failure: JSONScan.Failure) -> GatewayError {
        GatewayError(
            status: 400, type: .invalidRequest,
            message: "the request body is not valid JSON: \(failure.reason) at \(failure.position)",
            code: .invalidJson)
    }

    public static func bodyNotObject() -> GatewayError {
        GatewayError(status: 400, type: .invalidRequest,
                     message: "the request body must be a JSON object", code: .invalidJson)
    }

    public static func bodyTooLarge(limit: Int) -> GatewayError {
        GatewayError(status: 413, type: .invalidRequest,
                     message: "the request body is larger than the gateway's limit of \(limit) bytes",
                     code: .requestTooLarge)
    }

    public static func notFound(method: String, path: String) -> GatewayError {
        GatewayError(status: 404, type: .invalidRequest,
                     message: "no route for \(method) \(path); see GET /v1/models and the README for the endpoints",
                     code: .unknownRoute)
    }

    public static func methodNotAllowed(method: String, path: String, allowed: [String]) -> GatewayError {
        var error = GatewayError(
            status: 405, type: .invalidRequest,
            message: "\(method) is not allowed on \(path); use \(allowed.joined(separator: " or "))",
            code: .methodNotAllowed)
        error.headers = [("allow", allowed.joined(separator: ", "))]
        return error
    }

    public static func upstreamUnreachable(provider: String, host: String, reason: String) -> GatewayError {
        GatewayError(status: 502, type: .upstream,
                     message: "could not reach provider '\(provider)' at \(host): \(reason)",
                     code: .upstreamUnreachable)
    }

    public static func upstreamTimeout(provider: String, seconds: Int64) -> GatewayError {
        GatewayError(status: 504, type: .timeout,
                     message: "provider '\(provider)' did not answer within \(seconds) s (the gateway's upstream timeout)",
                     code: .upstreamTimeout)
    }

    public static func requestTimeout(milliseconds: Int) -> GatewayError {
        GatewayError(status: 408, type: .timeout,
                     message: "request timed out after \(milliseconds) ms (x-portkey-request-timeout)",
                     code: .requestTimeout)
    }

    public static func upstreamBroken(provider: String, reason: String) -> GatewayError {
        GatewayError(status: 502, type: .upstream,
                     message: "provider '\(provider)' sent a broken response: \(reason)", code: .upstreamError)
    }

    /// A script failure: structured errors keep the script's status; everything else is a 500
    /// `script_error` naming the file.
    public static func script(_ error: LuaError) -> GatewayError {
        if case .raised(let status, let type, let code) = error.kind {
            return GatewayError(status: status, type: type.map(ErrorType.init(rawValue:)) ?? .invalidRequest, message: error.message,
                                param: error.param, code: code.map(ErrorCode.init(rawValue:)))
        }
        return GatewayError(status: 500, type: .script, message: error.message, code: .scriptError)
    }
}
