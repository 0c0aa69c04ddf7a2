/// Reading a ``JSONTree`` the way configs, routing conditions, virtual keys, scripted calls and
/// upstream error bodies need: numbers as `Double`, values as short text, objects as a dictionary.
extension JSONTree {
    /// A number's value (`Double(literal)`: `1e999` is infinity, which callers bound), nil for
    /// other values.
    var double: Double? {
        if case .number(let literal) = self { return Double(literal) }
        return nil
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// An object's members by name, the last of equal names winning (as ``subscript(_:)`` reads
    /// them); nil for other values. For code that looks members up by name; code that walks them
    /// in document order reads ``members``.
    var fields: [String: JSONTree]? {
        guard case .object(let members) = self else { return nil }
        var out: [String: JSONTree] = [:]
        out.reserveCapacity(members.count)
        for member in members { out[member.key] = member.value }
        return out
    }

    /// Compact JSON text, members in document order.
    var jsonText: String { String(decoding: bytes(), as: UTF8.self) }

    /// A short human-readable rendering: strings as they are, numbers as written, nil for null.
    var text: String? {
        switch self {
        case .string(let value): return value
        case .number(let literal): return literal
        case .bool(let value): return String(value)
        case .null: return nil
        case .array(let values): return "[" + values.compactMap(\.text).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.map { "\($0.key): \($0.value.text ?? "null")" }.joined(separator: ", ") + "}"
        }
    }

    /// Equality of meaning rather than of spelling: numbers by value (`1` equals `1.0`), objects
    /// whatever the order of their members (the last of equal names counting).
    func sameValue(as other: JSONTree) -> Bool {
        switch (self, other) {
        case (.number(let a), .number(let b)):
            return a == b || (Double(a) != nil && Double(a) == Double(b))
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameValue(as: $1) }
        case (.object, .object):
            guard let a = fields, let b = other.fields, a.count == b.count else { return false }
            return a.allSatisfy { key, value in b[key].map { value.sameValue(as: $0) } ?? false }
        default:
            return self == other
        }
    }
}
