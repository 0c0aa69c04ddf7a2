import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayServer

/// The bytes of the gateway's answers, as a client's parser reads them.
@Suite struct ResponseWriterTests {
    let allocator = ByteBufferAllocator()

    func text(_ buffer: ByteBuffer) -> String { buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes) ?? "" }

    @Test func aWholeAnswerIsOneBufferWithItsLength() {
        let writer = ResponseWriter(version: .http1_1, isHead: false)
        let headers = HTTPHeaders([("content-type", "application/json"), ("x-portkey-provider", "openai")])
        let bytes = writer.response(status: 200, headers: headers, body: ByteBuffer(string: #"{"ok":true}"#),
                                    keepAlive: true, allocator: allocator)
        #expect(text(bytes) == "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-portkey-provider: openai\r\n"
            + "content-length: 11\r\n\r\n{\"ok\":true}")
    }

    @Test func theWriterOwnsFramingAndConnectionHeaders() {
        let writer = ResponseWriter(version: .http1_1, isHead: false)
        let headers = HTTPHeaders([("Content-Length", "999"), ("transfer-encoding", "chunked"), ("Connection", "upgrade"),
                                   ("x-a", "b")])
        let bytes = writer.response(status: 429, headers: headers, body: ByteBuffer(string: "no"),
                                    keepAlive: false, allocator: allocator)
        #expect(text(bytes) == "HTTP/1.1 429 Too Many Requests\r\nx-a: b\r\nconnection: close\r\ncontent-length: 2\r\n\r\nno")
    }

    @Test func headAnswersKeepTheLengthAndDropTheBody() {
        let writer = ResponseWriter(version: .http1_1, isHead: true)
        let bytes = writer.response(status: 200, headers: [:], body: ByteBuffer(string: "hello"), keepAlive: true,
                                    allocator: allocator)
        #expect(text(bytes) == "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
    }

    @Test func noContentAndNotModifiedHaveNoLengthOrBody() {
        let writer = ResponseWriter(version: .http1_1, isHead: false)
        for status in [204, 304] {
            let bytes = writer.response(status: status, headers: [:], body: ByteBuffer(string: "stray"), keepAlive: true,
                                        allocator: allocator)
            #expect(!text(bytes).contains("content-length"))
            #expect(text(bytes).hasSuffix("\r\n\r\n"))
        }
    }

    @Test func http10KeepAliveIsSaidAndItsStreamsEndAtClose() {
        let writer = ResponseWriter(version: .http1_0, isHead: false)
        let whole = writer.response(status: 200, headers: [:], body: ByteBuffer(), keepAlive: true, allocator: allocator)
        #expect(text(whole) == "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n")
        let head = writer.streamHead(status: 200, headers: HTTPHeaders([("content-type", "text/event-stream")]), keepAlive: false,
                                     allocator: allocator)
        #expect(text(head) == "HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
        #expect(text(writer.streamChunk(ByteBuffer(string: "data: 1\n\n"), last: false, allocator: allocator)) == "data: 1\n\n")
        #expect(text(writer.streamChunk(nil, last: true, allocator: allocator)) == "")
    }

    @Test func streamsAreChunkedOnHTTP11() {
        let writer = ResponseWriter(version: .http1_1, isHead: false)
        let head = writer.streamHead(status: 200, headers: HTTPHeaders([("content-type", "text/event-stream")]), keepAlive: true,
                                     allocator: allocator)
        #expect(text(head) == "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        let event = String(repeating: "x", count: 300)
        #expect(text(writer.streamChunk(ByteBuffer(string: event), last: false, allocator: allocator))
            == "12c\r\n" + event + "\r\n")
        #expect(text(writer.streamChunk(ByteBuffer(string: "e"), last: true, allocator: allocator)) == "1\r\ne\r\n0\r\n\r\n")
        #expect(text(writer.streamChunk(nil, last: true, allocator: allocator)) == "0\r\n\r\n")
        // An empty chunk would end the stream early: it is never framed.
        #expect(text(writer.streamChunk(ByteBuffer(), last: false, allocator: allocator)) == "")
    }

    @Test func anUncheckedStatusNeverReachesTheStatusLine() {
        let writer = ResponseWriter(version: .http1_1, isHead: false)
        let bytes = writer.response(status: 1000, headers: [:], body: ByteBuffer(), keepAlive: true, allocator: allocator)
        #expect(text(bytes).hasPrefix("HTTP/1.1 500 Internal Server Error\r\n"))
    }

    @Test func numbersAreWrittenWithoutStrings() {
        for value in [0, 7, 9, 10, 99, 100, 255, 4096, 65_535, 1_000_000, 123_456_789_012, Int.max] {
            var decimal = ByteBuffer()
            decimal.writeDecimal(value)
            #expect(text(decimal) == String(value))
            var hex = ByteBuffer()
            hex.writeHexadecimal(value)
            #expect(text(hex) == String(value, radix: 16))
        }
    }
}
