/// The one check for everything the gateway writes into HTTP/1.1 framing or an event stream:
/// header names and values, methods, request targets and URLs, statuses, SSE event names and data.
///
/// Client input, upstream requests that provider scripts build, answers from middleware and
/// scripted routes and events from `on_chunk` all pass through here once, where they are consumed,
/// so a CR/LF in any of them cannot split a request or response (an injected header, a second
/// request, an extra event). Each check is a single byte loop over contiguous UTF-8 with a
/// bitmask lookup: it sits on the hot path (see the notes for the measured cost).
///
/// Every function returns nil when the text is acceptable, or a short reason to put in an error
/// message (never the offending text itself, which may hold a credential).
///
/// It lives in the lowest Swift module (LuaRuntime) so the Lua bridge, the core and the server can
/// all call it.
public enum WireSyntax {
    /// RFC 9110 `tchar` as two 64-bit masks (bytes 0–63, 64–127).
    private static let tokenLow: UInt64 = 0x03ff_6cfa_0000_0000
    private static let tokenHigh: UInt64 = 0x57ff_ffff_c7ff_fffe

    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return tokenLow & (1 << UInt64(truncatingIfNeeded: byte)) != 0 }
        if byte < 128 { return tokenHigh & (1 << UInt64(truncatingIfNeeded: byte &- 64)) != 0 }
        return false
    }

    /// Runs `body` on the UTF-8 bytes without copying when the string is native (almost always).
    @inline(__always)
    private static func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        copy.makeContiguousUTF8()
        return copy.utf8.withContiguousStorageIfAvailable(body)!
    }

    /// A header field name: one or more token characters.
    public static func headerNameProblem(_ name: String) -> String? {
        withBytes(name) { bytes in
            if bytes.isEmpty { return "an empty header name" }
            for byte in bytes where !isTokenByte(byte) { return describe(byte, in: "a header name") }
            return nil
        }
    }

    /// A header field value: no CR, LF, NUL or other control character except horizontal tab.
    /// Bytes from 0x80 up (UTF-8, obs-text) are allowed.
    public static func headerValueProblem(_ value: String) -> String? {
        withBytes(value) { bytes in
            firstBad(bytes, below: 0x20) { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }.map { describe($0, in: "a header value") }
        }
    }

    /// One header field; the reason names the header when its name itself is fine.
    public static func headerProblem(name: String, value: String) -> String? {
        if let problem = headerNameProblem(name) { return problem }
        if let problem = headerValueProblem(value) { return "header '\(name)': \(problem)" }
        return nil
    }

    /// A list of header fields. Concrete, not generic over `Sequence`: an unspecialized generic
    /// across modules cost ~5× the scan itself (callgrind); other collections (NIO's `HTTPHeaders`)
    /// loop over ``headerProblem(name:value:)``.
    public static func headersProblem(_ headers: [(String, String)]) -> String? {
        for (name, value) in headers {
            if let problem = headerProblem(name: name, value: value) { return problem }
        }
        return nil
    }

    /// A request method: a token.
    public static func methodProblem(_ method: String) -> String? {
        withBytes(method) { bytes in
            if bytes.isEmpty { return "an empty method" }
            for byte in bytes where !isTokenByte(byte) { return describe(byte, in: "the method") }
            return nil
        }
    }

    /// A request target or an absolute URL: no space, no control character (CR, LF, NUL, …), no DEL.
    public static func targetProblem(_ target: String, what: String = "the URL") -> String? {
        withBytes(target) { bytes in
            firstBad(bytes, below: 0x21) { $0 <= 0x20 || $0 == 0x7F }.map { describe($0, in: what) }
        }
    }

    /// A response status: 100–599.
    public static func statusProblem(_ status: Int) -> String? {
        (100...599).contains(status) ? nil : "status \(status) is not an HTTP status (100–599)"
    }

    /// One SSE field (an event name, or one data payload written on one `data:` line): no CR or LF,
    /// which would end the line and start another field or event.
    public static func sseFieldProblem(_ bytes: [UInt8], field: String) -> String? {
        bytes.withUnsafeBufferPointer { sseFieldProblem($0, field: field) }
    }

    public static func sseFieldProblem(_ text: String, field: String) -> String? {
        withBytes(text) { sseFieldProblem($0, field: field) }
    }

    private static func sseFieldProblem(_ bytes: UnsafeBufferPointer<UInt8>, field: String) -> String? {
        for byte in bytes where byte == 0x0A || byte == 0x0D { return describe(byte, in: "an event's \(field)") }
        return nil
    }

    /// The first byte for which `isBad` holds, or nil. Eight bytes at a time: a word with no byte
    /// below `limit` (≤ 0x80) and no DEL cannot hold a bad byte, so only words that might are
    /// checked byte by byte (HTAB, bytes ≥ 0x80 and the bad ones). ~1.5 instructions per byte on
    /// clean input instead of ~8.
    @inline(__always)
    private static func firstBad(_ bytes: UnsafeBufferPointer<UInt8>, below limit: UInt8,
                                 _ isBad: (UInt8) -> Bool) -> UInt8? {
        guard let base = bytes.baseAddress else { return nil }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let below = ones &* UInt64(truncatingIfNeeded: limit)
        let del = ones &* 0x7F
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let small = (word &- below) & ~word & highs   // some byte < limit
            let flipped = word ^ del
            let isDel = (flipped &- ones) & ~flipped & highs  // some byte == 0x7F
            if small | isDel != 0 {
                for offset in 0..<8 where isBad(base[index + offset]) { return base[index + offset] }
            }
            index += 8
        }
        while index < count {
            if isBad(base[index]) { return base[index] }
            index += 1
        }
        return nil
    }

    private static func describe(_ byte: UInt8, in place: String) -> String {
        switch byte {
        case 0x0D: return "\(place) contains a carriage return (CR)"
        case 0x0A: return "\(place) contains a line feed (LF)"
        case 0x00: return "\(place) contains a NUL byte"
        case 0x20: return "\(place) contains a space"
        default:
            let hex = String(byte, radix: 16, uppercase: true)
            return "\(place) contains the byte 0x\(hex.count == 1 ? "0" + hex : hex)"
        }
    }
}
