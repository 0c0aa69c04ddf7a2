import GatewayCore
import LuaRuntime
import NIOCore
import NIOHTTP1

/// Serializes the gateway's answers to HTTP/1.1 bytes: a whole response as one buffer (status
/// line, headers and body: one `write` and one `writev` entry), a stream as its head and then one
/// buffer per event in chunked framing.
///
/// Why not NIO's `HTTPResponseEncoder`: every response crossed the pipeline as three messages (head,
/// body, end), each boxed in `NIOAny` and passed through the encoder, which wrote the head into a
/// buffer of its own and the body and the chunk framing as further `IOData` parts. Here the answer
/// is one buffer, built once, and the channel handler's only outbound message type is that buffer.
struct ResponseWriter {
    /// The request's HTTP version: the status line answers in it, and HTTP/1.0 has no chunked framing.
    var version: HTTPVersion
    /// A `HEAD` request's answer has the headers of the `GET` answer and no body.
    var isHead: Bool

    /// `HTTP/1.1 200 OK\r\n`, the status line of nearly every answer, kept ready.
    private static let ok11: [UInt8] = Array("HTTP/1.1 200 OK\r\n".utf8)

    /// A whole response in one buffer. `content-length`, `transfer-encoding` and `connection` in
    /// `headers` are ignored: the writer sets them from the body and `keepAlive`.
    func response(status: Int, headers: HTTPHeaders, body: ByteBuffer,
                  keepAlive: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        let hasBody = Self.allowsBody(status)
        var out = allocator.buffer(capacity: 256 + (hasBody && !isHead ? body.readableBytes : 0))
        writeHead(into: &out, status: status, headers: headers, keepAlive: keepAlive)
        if hasBody {
            out.writeStaticString("content-length: ")
            out.writeDecimal(body.readableBytes)
            out.writeStaticString("\r\n\r\n")
            if !isHead { out.writeImmutableBuffer(body) }
        } else {
            out.writeStaticString("\r\n")
        }
        return out
    }

    /// The head of a streamed response: chunked on HTTP/1.1, delimited by the connection's close on
    /// HTTP/1.0 (the caller closes it after the stream).
    func streamHead(status: Int, headers: HTTPHeaders, keepAlive: Bool,
                    allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 256)
        writeHead(into: &out, status: status, headers: headers, keepAlive: keepAlive)
        if isChunked { out.writeStaticString("transfer-encoding: chunked\r\n") }
        out.writeStaticString("\r\n")
        return out
    }

    /// One piece of a stream, framed; with `last`, the stream's end follows it in the same buffer.
    func streamChunk(_ chunk: ByteBuffer?, last: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = chunk?.readableBytes ?? 0
        var out = allocator.buffer(capacity: length + 16)
        guard !isHead else { return out }
        if let chunk, length > 0 {
            if isChunked {
                out.writeHexadecimal(length)
                out.writeStaticString("\r\n")
                out.writeImmutableBuffer(chunk)
                out.writeStaticString("\r\n")
            } else {
                out.writeImmutableBuffer(chunk)
            }
        }
        if last && isChunked { out.writeStaticString("0\r\n\r\n") }
        return out
    }

    /// `100 Continue`, the interim answer to `Expect: 100-continue`.
    func continueHead(allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 32)
        out.writeString("HTTP/\(version.major).\(version.minor) 100 Continue\r\n\r\n")
        return out
    }

    private var isChunked: Bool { version.major == 1 && version.minor >= 1 }

    private func writeHead(into out: inout ByteBuffer, status: Int,
                           headers: HTTPHeaders, keepAlive: Bool) {
        // Sources are checked where they are produced (scripts → script_error, upstreams → 502); this
        // only keeps an unchecked one from reaching the status line.
        let code = WireSyntax.statusProblem(status) == nil ? status : 500
        if code == 200 && isChunked && version.minor == 1 {
            out.writeBytes(Self.ok11)
        } else {
            out.writeString("HTTP/\(version.major).\(version.minor) \(code) ")
            out.writeString(HTTPResponseStatus(statusCode: code).reasonPhrase)
            out.writeStaticString("\r\n")
        }
        for (name, value) in headers where !Self.isFraming(name) {
            out.writeString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        if !keepAlive {
            out.writeStaticString("connection: close\r\n")
        } else if version.minor == 0 {
            out.writeStaticString("connection: keep-alive\r\n")
        }
    }

    /// Headers the writer owns: what frames the body and what says whether the connection stays.
    private static func isFraming(_ name: String) -> Bool {
        switch name.utf8.count {
        case 10: name.lowercased() == "connection"
        case 14: name.lowercased() == "content-length"
        case 17: name.lowercased() == "transfer-encoding"
        default: false
        }
    }

    /// 1xx, 204 and 304 answers have no body and no length (RFC 9110 §6.4.1, §8.6).
    static func allowsBody(_ status: Int) -> Bool {
        !(100..<200).contains(status) && status != 204 && status != 304
    }
}

extension ByteBuffer {
    /// Writes a non-negative integer in decimal, without building a String.
    @discardableResult
    mutating func writeDecimal(_ value: Int) -> Int {
        precondition(value >= 0)
        var digits: (UInt64, Int) = (0, 0)  // reversed digits packed in a UInt64 (up to 19 fit)
        var rest = value
        repeat {
            digits.0 = digits.0 << 4 | UInt64(truncatingIfNeeded: rest % 10)
            digits.1 += 1
            rest /= 10
        } while rest > 0 && digits.1 < 16
        if rest > 0 { return writeString(String(value)) }  // longer than 16 digits: never for a body
        var written = 0
        for _ in 0..<digits.1 {
            written += writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: digits.0 & 0xF))
            digits.0 >>= 4
        }
        return written
    }

    /// Writes a non-negative integer in lowercase hexadecimal (chunk sizes).
    @discardableResult
    mutating func writeHexadecimal(_ value: Int) -> Int {
        precondition(value >= 0)
        let hex: StaticString = "0123456789abcdef"
        let digits = value == 0 ? 1 : (Int.bitWidth - value.leadingZeroBitCount + 3) / 4
        var shift = (digits - 1) * 4
        var written = 0
        while shift >= 0 {
            let nibble = (value >> shift) & 0xF
            written += writeInteger(hex.utf8Start[nibble])
            shift -= 4
        }
        return written
    }
}
