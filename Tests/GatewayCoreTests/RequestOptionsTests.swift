import Foundation
import NIOHTTP1
import NIOCore
import Testing
@testable import GatewayCore

/// Portkey-compatible header handling.
@Suite struct RequestOptionsTests {
    func parse(_ pairs: [(String, String)]) throws(GatewayError) -> RequestOptions {
        var fields = HTTPHeaders()
        for (name, value) in pairs { fields.add(name: name, value: value) }
        return try RequestOptions.parse(fields, policy: CustomHostPolicy())
    }

    @Test func readsProviderKeyAndSettings() throws {
        let options = try parse([
            ("X-Portkey-Provider", "OpenAI"), ("Authorization", "Bearer  sk-123 "),
            ("x-portkey-azure-resource-name", "res"), ("x-portkey-azure-deployment-id", "dep"),
            ("x-portkey-forward-headers", "X-Custom, openai-beta ,"), ("x-portkey-request-timeout", "1500"),
            ("x-portkey-trace-id", "trace-1"), ("x-portkey-config", "{}"),
        ])
        #expect(options.provider == "openai")
        #expect(options.apiKey == "sk-123")
        #expect(options.forwardHeaders == ["x-custom", "openai-beta"])
        #expect(options.timeoutMilliseconds == 1500)
        #expect(options.traceID == "trace-1")
        #expect(options.settings.map(\.0) == ["azure_resource_name", "azure_deployment_id"])
        #expect(options.settings.map(\.1) == ["res", "dep"])
    }

    @Test func generatesATraceIDAndAcceptsARawKey() throws {
        let a = try parse([("authorization", "raw-key")])
        let b = try parse([])
        #expect(a.apiKey == "raw-key")
        #expect(b.apiKey == nil)
        #expect(a.traceID.count == 36)
        #expect(a.traceID != b.traceID)
    }

    @Test func theBearerSchemeIsReadInAnyCase() throws {
        #expect(try parse([("authorization", "bearer sk-1")]).apiKey == "sk-1")
        #expect(try parse([("authorization", "BEARER sk-2")]).apiKey == "sk-2")
        #expect(try parse([("authorization", "Bearer  sk-é ")]).apiKey == "sk-é")
        #expect(try parse([("authorization", "Bearer ")]).apiKey == "Bearer")     // no key after the scheme: the value itself
        #expect(try parse([("authorization", "Bearers k")]).apiKey == "Bearers k")
        #expect(try parse([("authorization", "Basic abc")]).apiKey == "Basic abc")
        // Names are matched in any case, and only whole.
        #expect(try parse([("AUTHORIZATION", "Bearer sk-3")]).apiKey == "sk-3")
        #expect(try parse([("X-Api-Key", "sk-4")]).apiKey == "sk-4")
        #expect(try parse([("x-api-keys", "sk-5")]).apiKey == nil)
        #expect(try parse([("authorizations", "sk-6")]).apiKey == nil)
        #expect(try parse([("X-PORTKEY-PROVIDER", "Groq")]).provider == "groq")
        #expect(try parse([("x-portkey", "groq")]).provider == nil)
    }

    @Test func generatedTraceIDsAreDistinctVersion4UUIDs() {
        var seen = Set<String>()
        for _ in 0..<20_000 {
            let id = TraceID.next()
            let bytes = Array(id.utf8)
            #expect(bytes.count == 36)
            for (index, byte) in bytes.enumerated() {
                if [8, 13, 18, 23].contains(index) {
                    #expect(byte == UInt8(ascii: "-"), "\(id)")
                } else {
                    #expect((48...57).contains(byte) || (97...102).contains(byte), "\(id)")
                }
            }
            #expect(bytes[14] == UInt8(ascii: "4"), "version nibble in \(id)")
            #expect("89ab".utf8.contains(bytes[19]), "variant nibble in \(id)")
            seen.insert(id)
        }
        #expect(seen.count == 20_000)
    }

    @Test func rejectsBadTimeoutAndCustomHost() {
        for value in ["soon", "-5", "0"] {
            let error = #expect(throws: GatewayError.self) { try parse([("x-portkey-request-timeout", value)]) }
            #expect(error?.param == "x-portkey-request-timeout")
        }
        let host = #expect(throws: GatewayError.self) { try parse([("x-portkey-custom-host", "http://169.254.169.254")]) }
        #expect(host?.status == 400)
    }
}

/// Errors the gateway writes itself, and upstream errors it reshapes.
@Suite struct ErrorShapeTests {
    func object(_ bytes: [UInt8]) throws -> [String: Any] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        return try #require(root["error"] as? [String: Any])
    }

    @Test func gatewayErrorsAreOpenAIShaped() throws {
        let error = GatewayError(status: 400, type: "invalid_request_error", message: "bad \"quote\"\n\u{1}", param: "p")
        let body = try object(error.body)
        #expect(body["message"] as? String == "bad \"quote\"\n\u{1}")
        #expect(body["type"] as? String == "invalid_request_error")
        #expect(body["param"] as? String == "p")
        #expect(body["code"] is NSNull)
    }

    @Test func upstreamErrorsAreReadAndTheirShapeKnown() throws {
        let openAI = ByteBuffer(string: #"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit"}}"#)
        #expect(UpstreamErrorBody.parse(status: 429, body: openAI, provider: "openai").shape == .openAI)
        let messages = ByteBuffer(string: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
        let (overloaded, messagesShape) = UpstreamErrorBody.parse(status: 529, body: messages, provider: "a")
        #expect(messagesShape == .messages && overloaded.type == "overloaded_error")
        #expect(ClientDialect.messages.accepts(errorShape: messagesShape) && !ClientDialect.openAI.accepts(errorShape: messagesShape))
        #expect(ClientDialect.provider.accepts(errorShape: nil))

        let (detail, detailShape) = UpstreamErrorBody.parse(status: 422, body: ByteBuffer(string: #"{"detail":"bad model"}"#), provider: "x")
        #expect(detailShape == nil)
        #expect(detail.message == "provider 'x' returned HTTP 422: bad model")
        #expect(detail.type == .invalidRequest)

        let (text, _) = UpstreamErrorBody.parse(status: 503, body: ByteBuffer(string: "upstream overloaded\n"), provider: "y")
        #expect(text.message == "provider 'y' returned HTTP 503: upstream overloaded")
        #expect(text.type == .server)

        let (stringError, _) = UpstreamErrorBody.parse(status: 401, body: ByteBuffer(string: #"{"error":"Invalid key"}"#), provider: "z")
        #expect(stringError.message == "provider 'z' returned HTTP 401: Invalid key")
    }
}
