/// Why a command failed. No case carries credentials: server messages are Redis's own (WRONGPASS
/// says "invalid username-password pair", never the pair).
public enum RedisClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection is ready on this event loop (Redis down, or reconnecting after backoff): the
    /// command was not sent.
    case unavailable
    /// No answer within the command timeout. The connection was closed, since later answers
    /// would no longer match their commands; whether Redis ran the command is unknown.
    case timeout
    /// Redis sent something that is not RESP2 (or over the parser's limits); the connection was closed.
    case protocolError(String)
    /// Redis answered with an error reply (`-ERR …`, `-WRONGPASS …`, `-NOSCRIPT …`).
    case server(String)
    /// The connection closed (or the client shut down) before the answer came; the command may have run.
    case closed

    public var description: String {
        switch self {
        case .unavailable: "Redis is unavailable (no ready connection)"
        case .timeout: "Redis did not answer within the command timeout"
        case .protocolError(let message): "Redis protocol error: \(message)"
        case .server(let message): "Redis error: \(message)"
        case .closed: "the Redis connection closed before the answer"
        }
    }

    /// The server error's code, e.g. `NOSCRIPT` for `-NOSCRIPT No matching script`.
    public var serverCode: Substring? {
        guard case .server(let message) = self else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }
}
