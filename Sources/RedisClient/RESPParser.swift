public import NIOCore

/// Input that is not RESP2, or a reply over the parser's limits. The connection that read it is closed.
public struct RESPParseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "malformed RESP reply: \(message)" }
}

/// An incremental RESP2 reply parser.
///
/// `parse` takes one complete reply off the front of a buffer, or returns nil and consumes nothing
/// when the reply has not fully arrived. It is bounded so a broken or hostile peer can neither crash
/// the process nor make it buffer without end:
/// - a reply may not need more than `maxReplyBytes` bytes (a bulk string's or array's declared size
///   is checked when its header is read, before any of its body arrives);
/// - arrays nest at most `maxDepth` deep (the parser recurses once per level);
/// - a line (`+…`, `-…`, `:…`, a header) must end within `maxLineBytes`.
/// Anything else that is not RESP2 — an unknown type byte, a CR without LF, a length that is not a
/// number — throws ``RESPParseError``.
///
/// An incomplete reply is parsed again from its start when more bytes arrive; the parser remembers
/// how many bytes the last attempt proved necessary and does not retry before they are there, so a
/// large bulk string arriving in pieces is not re-read per piece.
public struct RESPParser: Sendable {
    public let maxReplyBytes: Int
    public let maxDepth: Int
    public let maxLineBytes: Int
    /// Bytes the reply at the front needs at least (0: unknown); reset when a reply is taken.
    private var needed = 0

    public init(maxReplyBytes: Int = 64 << 20, maxDepth: Int = 32, maxLineBytes: Int = 64 << 10) {
        self.maxReplyBytes = maxReplyBytes
        self.maxDepth = maxDepth
        self.maxLineBytes = maxLineBytes
    }

    /// Takes one complete reply off the front of `buffer`; nil when more bytes are needed.
    public mutating func parse(_ buffer: inout ByteBuffer) throws(RESPParseError) -> RESPValue? {
        let readable = buffer.readableBytes
        guard readable > 0, readable >= needed else { return nil }
        let view = buffer
        var scanner = Scanner(view: view, maxDepth: maxDepth, maxLineBytes: maxLineBytes, maxReplyBytes: maxReplyBytes)
        let value: RESPValue?
        do {
            value = try view.withUnsafeReadableBytes { bytes in
                try scanner.value(in: bytes, depth: 0)
            }
        } catch let error as RESPParseError {
            throw error
        } catch {
            throw RESPParseError(message: "\(error)")
        }
        guard let value else {
            if scanner.needed > maxReplyBytes {
                throw RESPParseError(message: "a reply needs more than \(maxReplyBytes) bytes")
            }
            needed = scanner.needed
            return nil
        }
        needed = 0
        buffer.moveReaderIndex(forwardBy: scanner.offset)
        return value
    }
}

/// One parse attempt over the readable bytes; `offset` is where it has got to.
private struct Scanner {
    let view: ByteBuffer
    let maxDepth: Int
    let maxLineBytes: Int
    let maxReplyBytes: Int
    var offset = 0
    /// When the attempt stops short: the byte count that could let it get further.
    var needed = 0

    init(view: ByteBuffer, maxDepth: Int, maxLineBytes: Int, maxReplyBytes: Int) {
        self.view = view
        self.maxDepth = maxDepth
        self.maxLineBytes = maxLineBytes
        self.maxReplyBytes = maxReplyBytes
    }

    mutating func value(in bytes: UnsafeRawBufferPointer, depth: Int) throws(RESPParseError) -> RESPValue? {
        guard offset < bytes.count else {
            needed = offset + 1
            return nil
        }
        let type = bytes[offset]
        offset += 1
        switch type {
        case UInt8(ascii: "+"):
            guard let line = try line(in: bytes) else { return nil }
            return .simpleString(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[line]), as: UTF8.self))
        case UInt8(ascii: "-"):
            guard let line = try line(in: bytes) else { return nil }
            return .error(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[line]), as: UTF8.self))
        case UInt8(ascii: ":"):
            guard let line = try line(in: bytes) else { return nil }
            return .integer(try integer(in: bytes, line, what: "integer"))
        case UInt8(ascii: "$"):
            guard let line = try line(in: bytes) else { return nil }
            let length = try integer(in: bytes, line, what: "bulk string length")
            if length == -1 { return .null }
            guard length >= 0 else { throw RESPParseError(message: "bulk string length \(length)") }
            guard length <= maxReplyBytes else {
                throw RESPParseError(message: "a bulk string of \(length) bytes (the limit is \(maxReplyBytes))")
            }
            let end = offset + length
            guard end + 2 <= bytes.count else {
                needed = end + 2
                return nil
            }
            guard bytes[end] == UInt8(ascii: "\r"), bytes[end + 1] == UInt8(ascii: "\n") else {
                throw RESPParseError(message: "a bulk string not followed by CRLF")
            }
            let body = view.getSlice(at: view.readerIndex + offset, length: length)!
            offset = end + 2
            return .bulkString(body)
        case UInt8(ascii: "*"):
            guard let line = try line(in: bytes) else { return nil }
            let count = try integer(in: bytes, line, what: "array length")
            if count == -1 { return .null }
            guard count >= 0 else { throw RESPParseError(message: "array length \(count)") }
            // Every element takes at least three bytes ("+\r\n").
            guard count <= maxReplyBytes / 3 else {
                throw RESPParseError(message: "an array of \(count) elements (the limit is \(maxReplyBytes) bytes)")
            }
            guard depth < maxDepth else { throw RESPParseError(message: "arrays nested deeper than \(maxDepth)") }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try value(in: bytes, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw RESPParseError(message: "unknown type byte 0x\(String(type, radix: 16))")
        }
    }

    /// The line's content (without CRLF), moving past it; nil when its end has not arrived.
    mutating func line(in bytes: UnsafeRawBufferPointer) throws(RESPParseError) -> Range<Int>? {
        let start = offset
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\r") {
                guard index + 1 < bytes.count else {
                    needed = index + 2
                    return nil
                }
                guard bytes[index + 1] == UInt8(ascii: "\n") else { throw RESPParseError(message: "a CR not followed by LF") }
                offset = index + 2
                return start..<index
            }
            if byte == UInt8(ascii: "\n") { throw RESPParseError(message: "an LF without CR") }
            index += 1
            if index - start > maxLineBytes { throw RESPParseError(message: "a line longer than \(maxLineBytes) bytes") }
        }
        needed = bytes.count + 1
        return nil
    }

    /// A decimal integer filling the line: an optional '-', then 1 to 19 digits, no overflow.
    func integer(in bytes: UnsafeRawBufferPointer, _ line: Range<Int>, what: String) throws(RESPParseError) -> Int {
        var index = line.lowerBound
        let negative = index < line.upperBound && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < line.upperBound else { throw RESPParseError(message: "an empty \(what)") }
        var value = 0
        while index < line.upperBound {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw RESPParseError(message: "a \(what) that is not a number") }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(Int(digit)) : shifted.addingReportingOverflow(Int(digit))
            guard !overflow1, !overflow2 else { throw RESPParseError(message: "a \(what) out of range") }
            value = next
            index += 1
        }
        return value
    }
}
