import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayCore

/// The bytes of a request to a provider, written as one buffer (no NIO request encoder).
@Suite struct UpstreamRequestBytesTests {
    func text(_ request: UpstreamRequest) -> String {
        let bytes = request.serialized(allocator: ByteBufferAllocator())
        return bytes.getString(at: bytes.readerIndex, length: bytes.readableBytes) ?? ""
    }

    @Test func aPostCarriesItsHostItsLengthAndItsBody() throws {
        let url = try #require(UpstreamURL("http://127.0.0.1:9000/v1/chat/completions?x=1"))
        let request = UpstreamRequest(method: .POST, url: url,
                                      headers: HTTPHeaders([("content-type", "application/json"), ("authorization", "Bearer k")]),
                                      body: ByteBuffer(string: #"{"a":1}"#))
        #expect(text(request) == "POST /v1/chat/completions?x=1 HTTP/1.1\r\ncontent-type: application/json\r\n"
            + "authorization: Bearer k\r\nhost: 127.0.0.1:9000\r\ncontent-length: 7\r\n\r\n{\"a\":1}")
    }

    @Test func framingFromTheCallerIsReplacedAndAGivenHostKept() throws {
        let url = try #require(UpstreamURL("https://api.example.com/v1/embeddings"))
        let request = UpstreamRequest(method: .POST, url: url,
                                      headers: HTTPHeaders([("Host", "other.example"), ("Content-Length", "999"),
                                                            ("Transfer-Encoding", "chunked")]),
                                      body: nil)
        // An empty POST still says its length, as NIO's encoder did.
        #expect(text(request) == "POST /v1/embeddings HTTP/1.1\r\nHost: other.example\r\ncontent-length: 0\r\n\r\n")
    }

    @Test func aGetHasNoLength() throws {
        let url = try #require(UpstreamURL("http://[::1]:8080/v1/models"))
        let request = UpstreamRequest(method: .GET, url: url, headers: HTTPHeaders(), body: nil)
        #expect(text(request) == "GET /v1/models HTTP/1.1\r\nhost: [::1]:8080\r\n\r\n")
    }
}
