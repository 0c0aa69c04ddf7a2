import BenchSupport
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The first few distinct error messages of a run.
///
/// Why distinct: when 2,000 streams fail the same way, five copies of one message say less
/// than one copy each of five different failures.
struct ErrorSamples: Sendable {
    static let limit = 5

    private(set) var messages: [String] = []
    /// What makes two messages "the same": the message itself unless a key was given.
    private var keys: [String] = []

    /// - Parameter key: groups messages that differ only in detail (e.g. `HTTP 503` for
    ///   bodies that each carry their own request id).
    mutating func add(_ message: String, key: String? = nil) {
        let key = key ?? message
        guard messages.count < Self.limit, !keys.contains(key) else { return }
        messages.append(message)
        keys.append(key)
    }

    mutating func merge(_ other: ErrorSamples) {
        for (message, key) in zip(other.messages, other.keys) { add(message, key: key) }
    }

    var json: JSONValue { .array(messages.map(JSONValue.string)) }
}

/// A short, single-line description of a NIO or socket error for error samples.
///
/// Socket errors are reduced to the C library's wording ("Connection refused (errno 111)")
/// because NIO's own description of them is long and repeats itself.
func describe(_ error: any Error) -> String {
    if let error = error as? IOError {
        return "\(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))"
    }
    if let error = error as? ChannelError, case .connectTimeout(let amount) = error {
        return "connect timed out after \(amount.nanoseconds / 1_000_000) ms"
    }
    let text = String(describing: error)
    let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    return line.count > 200 ? String(line.prefix(200)) + "…" : line
}
