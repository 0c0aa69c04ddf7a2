public import NIOCore

/// One argument of a command: text, bytes or a number, sent as a RESP bulk string.
public enum RESPArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes(ByteBuffer)
    case integer(Int)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
}

/// Writes commands as RESP2 arrays of bulk strings — the one form Redis accepts from clients.
public enum RESPEncoder {
    /// Appends `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument to `buffer`.
    public static func encode(_ command: [RESPArgument], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), command.count, into: &buffer)
        for argument in command {
            switch argument {
            case .string(let text):
                writeHeader(UInt8(ascii: "$"), text.utf8.count, into: &buffer)
                buffer.writeString(text)
            case .bytes(let bytes):
                writeHeader(UInt8(ascii: "$"), bytes.readableBytes, into: &buffer)
                buffer.writeImmutableBuffer(bytes)
            case .integer(let value):
                let text = String(value)
                writeHeader(UInt8(ascii: "$"), text.utf8.count, into: &buffer)
                buffer.writeString(text)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// A new buffer holding one encoded command.
    public static func encode(_ command: [RESPArgument], allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: estimatedSize(command))
        encode(command, into: &buffer)
        return buffer
    }

    static func estimatedSize(_ command: [RESPArgument]) -> Int {
        var size = 16
        for argument in command {
            switch argument {
            case .string(let text): size += text.utf8.count + 16
            case .bytes(let bytes): size += bytes.readableBytes + 16
            case .integer: size += 36
            }
        }
        return size
    }

    private static func writeHeader(_ type: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        buffer.writeString(String(count))
        buffer.writeStaticString("\r\n")
    }
}
