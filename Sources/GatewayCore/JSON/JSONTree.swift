import NIOCore

/// A JSON value as written: number literals kept verbatim and object members in document order
/// (duplicates kept). The cache's one JSON representation, used for cache keys, for reading cached
/// bodies to replay them as streams, and for rebuilding bodies from streams.
///
/// Hand-written rather than Foundation's `JSONDecoder`/`JSONSerialization`: those turn numbers
/// into `Double` (or `NSNumber`), so `12345678901234567891` and `…892` would hash alike and a
/// copied number could change its spelling, and they give no control over key order anyway.
/// The C codec in `CLuaShim` decodes into Lua values, which lose the literals the same way.
enum JSONTree: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The literal exactly as it appeared, e.g. `"1.50"` or `"-0"`.
    case number(String)
    case string(String)
    case array([JSONTree])
    case object([Member])

    struct Member: Sendable, Equatable {
        var key: String
        var value: JSONTree
    }

    /// Deepest nesting of arrays and objects accepted; deeper documents are refused (nil), which
    /// bounds the parser's recursion.
    static let maxDepth = 128

    /// An object from pairs, leaving out the pairs whose value is nil.
    static func object(pairs: KeyValuePairs<String, JSONTree?>) -> JSONTree {
        .object(pairs.compactMap { pair in pair.value.map { Member(key: pair.key, value: $0) } })
    }

    /// The value of the last member named `key` (last wins, as most JSON parsers do).
    subscript(key: String) -> JSONTree? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var array: [JSONTree]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var members: [Member]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// An integer literal's value (nil for fractions, exponents, overflow and non-numbers).
    var int: Int? {
        if case .number(let literal) = self { return Int(literal) }
        return nil
    }

    var isNull: Bool { self == .null }

    /// Sets member `key` of an object (replacing the last one with that name, or appending).
    mutating func set(_ key: String, _ value: JSONTree) {
        guard case .object(var members) = self else { return }
        if let at = members.lastIndex(where: { $0.key == key }) {
            members[at].value = value
        } else {
            members.append(Member(key: key, value: value))
        }
        self = .object(members)
    }

    /// The object without the members named in `keys`.
    func removing(_ keys: Set<String>) -> JSONTree {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { !keys.contains($0.key) })
    }
}

extension JSONTree: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .number(String(value)) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
}

// MARK: Parsing

extension JSONTree {
    /// Parses one JSON document, or returns nil when it is not valid JSON (RFC 8259 grammar,
    /// valid UTF-8, no lone surrogate escapes) or nests deeper than ``maxDepth``.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONTree? {
        var parser = JSONTreeParser(bytes: bytes)
        return parser.document()
    }

    static func parse(_ bytes: [UInt8]) -> JSONTree? {
        bytes.withUnsafeBytes { parse($0) }
    }

    static func parse(_ buffer: ByteBuffer) -> JSONTree? {
        buffer.withUnsafeReadableBytes { parse($0) }
    }
}

/// Recursive descent over bytes; every failure is a nil, never a trap.
private struct JSONTreeParser {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func document() -> JSONTree? {
        guard let value = value(depth: 0) else { return nil }
        skipSpace()
        return index == bytes.count ? value : nil
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func value(depth: Int) -> JSONTree? {
        skipSpace()
        guard let byte = current else { return nil }
        switch byte {
        case UInt8(ascii: "{"): return depth < JSONTree.maxDepth ? object(depth: depth + 1) : nil
        case UInt8(ascii: "["): return depth < JSONTree.maxDepth ? array(depth: depth + 1) : nil
        case UInt8(ascii: "\""): return string().map(JSONTree.string)
        case UInt8(ascii: "t"): return word("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return word("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return word("null") ? .null : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return nil
        }
    }

    private mutating func word(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        let matches = text.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        if matches { index += count }
        return matches
    }

    private mutating func object(depth: Int) -> JSONTree? {
        index += 1  // {
        var members: [JSONTree.Member] = []
        skipSpace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard current == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let value = value(depth: depth) else { return nil }
            members.append(JSONTree.Member(key: key, value: value))
            skipSpace()
            switch current {
            case UInt8(ascii: ",")?: index += 1
            case UInt8(ascii: "}")?:
                index += 1
                return .object(members)
            default: return nil
            }
        }
    }

    private mutating func array(depth: Int) -> JSONTree? {
        index += 1  // [
        var items: [JSONTree] = []
        skipSpace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            guard let item = value(depth: depth) else { return nil }
            items.append(item)
            skipSpace()
            switch current {
            case UInt8(ascii: ",")?: index += 1
            case UInt8(ascii: "]")?:
                index += 1
                return .array(items)
            default: return nil
            }
        }
    }

    /// Checks the number grammar and keeps the literal's exact spelling.
    private mutating func number() -> JSONTree? {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            guard skipDigits() else { return nil }
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard skipDigits() else { return nil }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() else { return nil }
        }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    /// Skips one or more digits; false if there was none.
    private mutating func skipDigits() -> Bool {
        let start = index
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index > start
    }

    /// A string starting at the opening quote, escapes resolved. Strings without escapes (nearly
    /// all, including multi-megabyte base64 images) become a `String` straight from the input.
    private mutating func string() -> String? {
        index += 1  // opening quote
        var runStart = index
        var decoded: [UInt8] = []
        var hasEscapes = false
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""):
                let run = UnsafeRawBufferPointer(rebasing: bytes[runStart..<index])
                index += 1
                guard hasEscapes else { return String(validating: run, as: UTF8.self) }
                decoded.append(contentsOf: run)
                return String(validating: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                hasEscapes = true
                decoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                guard escape(into: &decoded) else { return nil }
                runStart = index
            case 0..<0x20:
                return nil  // control characters must be escaped
            default:
                index += 1
            }
        }
        return nil  // unterminated
    }

    /// Decodes the escape after a backslash into UTF-8.
    private mutating func escape(into out: inout [UInt8]) -> Bool {
        guard let byte = current else { return false }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            guard let unit = hex4() else { return false }
            var value = UInt32(unit)
            if (0xD800..<0xDC00).contains(unit) {
                // A high surrogate must be followed by an escaped low one.
                guard word("\\u"), let low = hex4(), (0xDC00..<0xE000).contains(low) else { return false }
                value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00..<0xE000).contains(unit) {
                return false
            }
            guard let scalar = Unicode.Scalar(value), let encoded = UTF8.encode(scalar) else { return false }
            out.append(contentsOf: encoded)
        default: return false
        }
        return true
    }

    private mutating func hex4() -> UInt16? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }
}

// MARK: Writing

extension JSONTree {
    /// Compact JSON text: members in document order, or sorted by their UTF-8 bytes (the
    /// canonical form used for cache keys; members with equal names keep their order).
    func bytes(sortedKeys: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out, sortedKeys: sortedKeys)
        return out
    }

    func write(into out: inout [UInt8], sortedKeys: Bool) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let literal): out.append(contentsOf: literal.utf8)
        case .string(let text): Self.writeString(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (at, item) in items.enumerated() {
                if at > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            let ordered = sortedKeys ? Self.sorted(members) : members
            out.append(UInt8(ascii: "{"))
            for (at, member) in ordered.enumerated() {
                if at > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func sorted(_ members: [Member]) -> [Member] {
        members.enumerated().sorted { lhs, rhs in
            if lhs.element.key.utf8.elementsEqual(rhs.element.key.utf8) { return lhs.offset < rhs.offset }
            return lhs.element.key.utf8.lexicographicallyPrecedes(rhs.element.key.utf8)
        }.map(\.element)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes a quoted string with the escapes `JSONText.quote` uses (`\"`, `\\`, `\n`, `\r`,
    /// `\t`, `\u00XX` for other control characters, everything else as UTF-8), so one text has one
    /// spelling. Byte-wise rather than through `JSONText.quote` because key bodies can be megabytes.
    static func writeString(_ text: String, into out: inout [UInt8]) {
        var text = text
        out.append(UInt8(ascii: "\""))
        text.withUTF8 { utf8 in
            out.reserveCapacity(out.count + utf8.count + 1)
            // Copy runs that need no escape in one go: strings can be megabytes of base64.
            var runStart = 0
            for (at, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<at]))
                runStart = at + 1
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), byte])
                case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 15)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
