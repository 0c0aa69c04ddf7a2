/// Finds token counts in response bytes without decoding the document: the `usage` object of the
/// client dialects' bodies and stream events (chat's `prompt_tokens`/`completion_tokens`, the
/// Messages dialect's `input_tokens`/`output_tokens`). It reads what the client receives, so a
/// translated answer is counted in the client's dialect; a passthrough answer in a provider's own
/// shape is not read (its knowledge stays in the provider's script).
///
/// Why by hand: it runs on every response. A full JSON decode of a large completion costs tens of
/// microseconds; this finds each `"usage"` with libc's `memmem` and reads only that object. A
/// `"usage"` inside a string value is escaped (`\"usage\"`) and so not matched.
import CLuaShim

enum UsageScanner {
    struct Usage: Equatable {
        var input: Int?
        var output: Int?
        /// OpenAI's `prompt_tokens_details.cached_tokens` (Responses: `input_tokens_details`):
        /// part of `input`.
        var cachedInInput: Int?
        /// Anthropic's `cache_read_input_tokens` and `cache_creation_input_tokens`: beside `input`.
        var cacheRead: Int?
        var cacheWritten: Int?
    }

    /// The longest unfinished stream line carried into the next chunk.
    static let maxCarry = 64 * 1024

    static func scan(_ bytes: UnsafeRawBufferPointer) -> Usage {
        var usage = Usage()
        guard let base = bytes.baseAddress else { return usage }
        let count = bytes.count
        var index = 0
        while index < count {
            // The next `"usage"`, found by libc's memmem (one call, not one per quote).
            guard let found = sb_memmem(base + index, count - index, "\"usage\"", 7) else { break }
            index = base.distance(to: UnsafeRawPointer(found))
            if index > 0 && bytes[index - 1] == UInt8(ascii: "\\") {
                index += 1
                continue
            }
            // `"usage"` followed by `:` and an object.
            var cursor = skipSpace(bytes, index + 7)
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
        /// The key of the object at depth 2, when it is a `*_tokens_details` object.
        var details = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let keyStart = index + 1
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if depth == 1 || (depth == 2 && details) { lastKey = (keyStart, index) }
                index += 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                lastKey = nil
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 1 { details = false }
                index += 1
                if depth == 0 { return index }
            case UInt8(ascii: ":"):
                index = skipSpace(bytes, index + 1)
                guard depth == 1 || (depth == 2 && details), let (keyStart, keyEnd) = lastKey else { continue }
                lastKey = nil
                if depth == 1, index < bytes.count, bytes[index] == UInt8(ascii: "{") {
                    // An object value: read its numbers only when it is the cached-token details.
                    let key = UnsafeRawBufferPointer(rebasing: bytes[keyStart..<keyEnd])
                    details = key.elementsEqual("prompt_tokens_details".utf8) || key.elementsEqual("input_tokens_details".utf8)
                    continue
                }
                var value = 0
                var digits = 0
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), digits < 15 {
                    value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { continue }
                switch (depth, String(decoding: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<keyEnd]), as: UTF8.self)) {
                case (1, "prompt_tokens"), (1, "input_tokens"): usage.input = value
                case (1, "completion_tokens"), (1, "output_tokens"): usage.output = value
                case (1, "cache_read_input_tokens"): usage.cacheRead = value
                case (1, "cache_creation_input_tokens"): usage.cacheWritten = value
                case (2, "cached_tokens"): usage.cachedInInput = value
                default: break
                }
            default:
                index += 1
            }
        }
        return index
    }
}
