/// Replaces or adds top-level members of a JSON object without re-encoding the rest: untouched
/// members keep their exact bytes (number spelling, key order, escapes), which a decode/encode
/// round trip through Foundation would not guarantee. Used for `override_params`.
///
/// Hand-written: it needs member byte spans, which no JSON library in the mirror exposes. It
/// assumes valid JSON (the gateway has already validated the body with `JSONScan`).
enum JSONObjectPatch {
    /// The patched object, or nil when `body` is not a JSON object.
    static func apply(_ overrides: [(key: String, json: String)], to body: [UInt8]) -> [UInt8]? {
        guard let members = members(of: body) else { return nil }
        let keys = Set(overrides.map(\.key))
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        for member in members where !keys.contains(member.key) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: body[member.span])
        }
        for (key, json) in overrides {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: JSONText.quote(key).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: json.utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    struct Member {
        var key: String
        /// From the key's opening quote to the end of the value.
        var span: Range<Int>
    }

    static func members(of bytes: [UInt8]) -> [Member]? {
        var index = 0
        func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }
        /// Past a string starting at `index` (which is a quote); returns the raw contents.
        func skipString() -> ArraySlice<UInt8>? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return bytes[start..<(index - 1)]
                default: index += 1
                }
            }
            return nil
        }
        /// Past one value of any kind.
        func skipValue() -> Bool {
            skipSpace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return skipString() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard skipString() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return true
                        }
                    default: break
                    }
                    index += 1
                }
                return false
            default:
                while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D]
                    .contains(bytes[index]) {
                    index += 1
                }
                return true
            }
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var members: [Member] = []
        while true {
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return members }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            let start = index
            guard let rawKey = skipString() else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard skipValue() else { return nil }
            // Keys with escapes are compared by their raw text; override keys are plain names.
            members.append(Member(key: String(decoding: rawKey, as: UTF8.self), span: start..<index))
        }
    }
}
