import NIOCore
import NIOHTTP1

/// NIO's HTTP/1 response decoder (llhttp), without its pipeline partner.
///
/// NIO pairs `HTTPResponseDecoder` with `HTTPRequestEncoder`: the decoder watches the request parts
/// written past it to learn each request's method (a `HEAD` answer has no body). The upstream
/// connection writes each request as one finished buffer instead (``UpstreamConnectionHandler``),
/// so this wrapper is a plain decoder — writes pass it untouched — and is told the method directly.
final class UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    private let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)

    /// The next answer on this connection is to a request with this method.
    func expectResponse(to method: HTTPMethod) {
        decoder.write(data: .head(HTTPRequestHead(version: .http1_1, method: method, uri: "")))
    }

    func decoderAdded(context: ChannelHandlerContext) {
        decoder.decoderAdded(context: context)
    }

    func decoderRemoved(context: ChannelHandlerContext) {
        decoder.decoderRemoved(context: context)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try decoder.decode(context: context, buffer: &buffer)
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}

extension UpstreamRequest {
    /// The request as HTTP/1.1 bytes, head and body in one buffer (one write, one `writev` entry).
    /// `content-length` and `transfer-encoding` in `headers` are replaced by the body's length;
    /// `host` comes from the URL unless the headers carry one.
    func serialized(allocator: ByteBufferAllocator) -> ByteBuffer {
        let bodyLength = body?.readableBytes ?? 0
        var out = allocator.buffer(capacity: 256 + url.target.utf8.count + bodyLength)
        out.writeString(method.rawValue)
        out.writeInteger(UInt8(ascii: " "))
        out.writeString(url.target)
        out.writeStaticString(" HTTP/1.1\r\n")
        var hasHost = false
        for (name, value) in headers {
            switch name.utf8.count {
            case 4 where name.lowercased() == "host": hasHost = true
            case 14 where name.lowercased() == "content-length": continue
            case 17 where name.lowercased() == "transfer-encoding": continue
            default: break
            }
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        if !hasHost {
            out.writeStaticString("host: ")
            out.writeString(url.hostHeader)
            out.writeStaticString("\r\n")
        }
        if bodyLength > 0 || method == .POST || method == .PUT || method == .PATCH {
            out.writeStaticString("content-length: ")
            out.writeString(String(bodyLength))
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("\r\n")
        if let body { out.writeImmutableBuffer(body) }
        return out
    }
}
