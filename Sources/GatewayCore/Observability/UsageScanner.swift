/// Finds token counts in response bytes without decoding the document: the `usage` object of the
/// client dialects' bodies and stream events (chat's `prompt_tokens`/`completion_tokens`, the
/// Messages dialect's `input_tokens`/`output_tokens`). It reads what the client receives, so a
/// translated answer is counted in the client's dialect; a passthrough answer in a provider's own
/// shape is not read (its knowledge stays in the provider's script).
///
/// Why by hand: it runs on every response. A full JSON decode of a large completion costs tens of
/// microseconds; this finds each `"` with libc's `memchr`, checks for `"usage`, and reads only that
/// object. A `"usage"` inside a string value is escaped (`\"usage\"`) and so not matched.
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

enum UsageScanner {
    struct Usage: Equatable {
        var input: Int?
        var output: Int?
    }

    /// The longest unfinished stream line carried into the next chunk.
    static let maxCarry = 64 * 1024
    private static let pattern: [UInt8] = Array(#""usage"#.utf8)

    static func scan(_ bytes: UnsafeRawBufferPointer) -> Usage {
        var usage = Usage()
        let count = bytes.count
        var index = 0
        while index + pattern.count <= count {
            guard let base = bytes.baseAddress,
                  let found = memchr(base + index, 0x22, count - index) else { break }  // the next '"'
            index = base.distance(to: UnsafeRawPointer(found))
            guard matches(bytes, at: index, pattern) else {
                index += 1
                continue
            }
            if index > 0 && bytes[index - 1] == UInt8(ascii: "\\") {
                index += 1
                continue
            }
            // `"usage"` followed by `:` and an object.
            var cursor = index + pattern.count
            guard cursor < count, bytes[cursor] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            cursor = skipSpace(bytes, cursor + 1)
            guard cursor < count, bytes[cursor] == UInt8(ascii: ":") else {
                index += 1
                continue
            }
            cursor = skipSpace(bytes, cursor + 1)
            guard cursor < count, bytes[cursor] == UInt8(ascii: "{") else {
                index += 1
                continue
            }
            index = readObject(bytes, from: cursor, into: &usage)
        }
        return usage
    }

    private static func matches(_ bytes: UnsafeRawBufferPointer, at index: Int, _ pattern: [UInt8]) -> Bool {
        guard index + pattern.count <= bytes.count else { return false }
        for offset in 0..<pattern.count where bytes[index + offset] != pattern[offset] { return false }
        return true
    }

    private static func skipSpace(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var index = start
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
        return index
    }

    /// Reads the numbers of the object's own keys (nested objects are skipped); returns the index
    /// after the object, or the end of the bytes when it is cut off.
    private static func readObject(_ bytes: UnsafeRawBufferPointer, from start: Int, into usage: inout Usage) -> Int {
        var index = start + 1
        var depth = 1
        var lastKey: (Int, Int)?
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let keyStart = index + 1
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if depth == 1 { lastKey = (keyStart, index) }
                index += 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                lastKey = nil
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                index += 1
                if depth == 0 { return index }
            case UInt8(ascii: ":"):
                index = skipSpace(bytes, index + 1)
                guard depth == 1, let (keyStart, keyEnd) = lastKey else { continue }
                lastKey = nil
                var value = 0
                var digits = 0
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), digits < 15 {
                    value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { continue }
                switch String(decoding: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<keyEnd]), as: UTF8.self) {
                case "prompt_tokens", "input_tokens": usage.input = value
                case "completion_tokens", "output_tokens": usage.output = value
                default: break
                }
            default:
                index += 1
            }
        }
        return index
    }
}
