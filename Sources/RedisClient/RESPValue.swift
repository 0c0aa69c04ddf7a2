public import NIOCore

/// One RESP2 reply: what Redis answers to a command.
///
/// RESP2 has one null (`$-1` and `*-1` both read as `.null`): nothing a state store asks of Redis
/// tells the two apart.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    /// An error reply (`-ERR …`) nested in an array (a top-level one fails the command instead,
    /// as ``RedisClientError/server(_:)``).
    case error(String)
    case integer(Int)
    case bulkString(ByteBuffer)
    case null
    case array([RESPValue])

    /// The reply as text: a simple or bulk string (decoded as UTF-8), or an integer's digits.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(buffer: bytes)
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The reply as an integer: an integer reply, or a string holding one (as GET returns a counter).
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .simpleString(let text): Int(text)
        case .bulkString(let bytes): Int(String(buffer: bytes))
        default: nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let values) = self { values } else { nil }
    }

    public var isNull: Bool { self == .null }
}
