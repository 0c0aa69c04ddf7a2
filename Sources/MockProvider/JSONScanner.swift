/// A validating, allocation-light JSON scanner for request bodies.
///
/// Why it exists: the hot benchmark path (a canned chat completion) must not pay for
/// `JSONSerialization` on every request. The scanner walks the body once, checks that it
/// is well-formed JSON, and records where each *top-level* member of the object lives.
/// Endpoints then read the few values they need straight from those byte ranges and only
/// hand small slices (e.g. the `"mock"` object) to Foundation when they really must.
struct JSONScanner {
    /// The kind of a JSON value, as seen from its first byte.
    enum Kind: Sendable {
        case object, array, string, number, bool, null
    }

    /// One top-level member: byte ranges are offsets into the scanned bytes.
    /// `key` excludes the quotes; `value` includes them for strings.
    struct Field: Sendable {
        var key: Range<Int>
        var value: Range<Int>
        var kind: Kind
    }

    /// Thrown for anything that is not a JSON object; the message ends up in a 400 body.
    struct Failure: Error {
        var message: String
    }

    /// Deep nesting is rejected rather than recursed into, so hostile input cannot overflow the stack.
    static let maxDepth = 200

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Scans `bytes`, which must hold exactly one JSON object (surrounding whitespace allowed),
    /// and returns its top-level members in source order.
    static func topLevelFields(of bytes: UnsafeRawBufferPointer) throws(Failure) -> [Field] {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw Failure(message: "The request body must be a JSON object.")
        }
        let fields = try scanner.object(depth: 0, collect: true)
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else {
            throw scanner.failure("unexpected data after the JSON object")
        }
        return fields
    }

    // MARK: - Grammar

    /// Parses an object starting at `{`. Members are only collected for the top level.
    private mutating func object(depth: Int, collect: Bool) throws(Failure) -> [Field] {
        guard depth < Self.maxDepth else { throw failure("nesting too deep") }
        index += 1  // "{"
        var fields: [Field] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return fields
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let keyStart = index + 1
            try string()
            let key = keyStart..<(index - 1)
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            let valueStart = index
            let kind = try value(depth: depth + 1)
            if collect {
                fields.append(Field(key: key, value: valueStart..<index, kind: kind))
            }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                return fields
            default:
                throw failure("expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws(Failure) {
        guard depth < Self.maxDepth else { throw failure("nesting too deep") }
        index += 1  // "["
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            _ = try value(depth: depth + 1)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default:
                throw failure("expected ',' or ']'")
            }
        }
    }

    private mutating func value(depth: Int) throws(Failure) -> Kind {
        guard let first = peek() else { throw failure("expected a value") }
        switch first {
        case UInt8(ascii: "{"):
            _ = try object(depth: depth, collect: false)
            return .object
        case UInt8(ascii: "["):
            try array(depth: depth)
            return .array
        case UInt8(ascii: "\""):
            try string()
            return .string
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            return .number
        default:
            throw failure("expected a value")
        }
    }

    /// Skips a string starting at its opening quote, validating escapes and control characters.
    private mutating func string() throws(Failure) {
        index += 1  // opening quote
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw failure("unterminated string") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    for _ in 0..<4 {
                        guard index < bytes.count, bytes[index].isHexDigit else {
                            throw failure("bad \\u escape")
                        }
                        index += 1
                    }
                default:
                    throw failure("bad escape")
                }
            case 0..<0x20:
                throw failure("control character in string")
            default:
                continue
            }
        }
        throw failure("unterminated string")
    }

    private mutating func number() throws(Failure) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        if peek() == UInt8(ascii: "0") {
            index += 1
        } else {
            guard try digits() > 0 else { throw failure("bad number") }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard try digits() > 0 else { throw failure("bad number") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard try digits() > 0 else { throw failure("bad number") }
        }
    }

    private mutating func digits() throws(Failure) -> Int {
        let start = index
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            index += 1
        }
        return index - start
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("bad literal") }
        let expected = UnsafeRawBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw failure("bad literal")
        }
        index += count
    }

    // MARK: - Helpers

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                index += 1
            default:
                return
            }
        }
    }

    private func failure(_ what: String) -> Failure {
        Failure(message: "We could not parse the JSON body of your request (\(what) at byte \(index)).")
    }
}

extension UInt8 {
    /// ASCII hex digit test used by `\u` escape validation.
    var isHexDigit: Bool {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"):
            return true
        default:
            return false
        }
    }
}
