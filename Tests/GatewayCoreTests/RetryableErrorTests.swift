import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayCore

/// Which upstream errors routing may retry or fall back on, per provider dialect.
@Suite struct RetryableErrorTests {
    func retryable(_ status: Int, _ body: String, headers: [(String, String)] = []) -> Bool {
        UpstreamErrorBody.isRetryable(status: status, headers: HTTPHeaders(headers), body: ByteBuffer(string: body))
    }

    @Test func providersOverloadAndThrottlingAreRetryable() {
        #expect(retryable(529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        #expect(retryable(429, #"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}"#))
        // Gemini can signal exhaustion with a 400-class status too; the code decides.
        #expect(retryable(400, #"{"error":{"code":400,"message":"x","status":"RESOURCE_EXHAUSTED"}}"#))
        #expect(retryable(400, #"{"message":"Too many requests"}"#, headers: [("x-amzn-ErrorType", "ThrottlingException:http://internal")]))
        #expect(retryable(503, "upstream connect error"))
        #expect(retryable(500, #"{"error":{"message":"boom","type":"server_error"}}"#))
    }

    @Test func clientMistakesAreNot() {
        #expect(!retryable(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens"}}"#))
        #expect(!retryable(401, #"{"error":{"message":"bad key","type":"invalid_request_error","code":"invalid_api_key"}}"#))
        #expect(!retryable(404, #"{"error":{"code":404,"message":"model not found","status":"NOT_FOUND"}}"#))
        #expect(!retryable(400, #"{"message":"The provided model identifier is invalid."}"#,
                           headers: [("x-amzn-ErrorType", "ValidationException")]))
    }
}
