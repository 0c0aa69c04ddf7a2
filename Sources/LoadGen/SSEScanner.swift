import NIOCore

/// Finds server-sent-event boundaries in a byte stream, chunk by chunk.
///
/// Why a byte scanner and not a parser: with thousands of streams on one thread the per-chunk
/// work must stay tiny, and the benchmark only needs to know *when* an event ends and whether
/// it was `data: [DONE]`. An event ends at a blank line; `\r` is ignored so CRLF framing works;
/// blocks holding only comments (`: keep-alive`) are not events, as in the SSE spec. State
/// survives across chunks, so an event split over several reads is counted once, at its end.
struct SSEScanner {
    /// What one chunk completed.
    struct Progress {
        var events = 0
        var sawDone = false
    }

    private static let done: [UInt8] = Array("data: [DONE]".utf8)
    private static let colonIndex = 4  // "data" then ':'

    private var lineLength = 0
    private var lineIsComment = false
    /// How much of "data: [DONE]" the current line matches so far; -1 once it cannot.
    private var doneMatch = 0
    private var eventHasField = false
    private var eventIsDone = false

    /// True when bytes of an event have arrived but not its closing blank line.
    var isInsideEvent: Bool { eventHasField || lineLength > 0 }

    mutating func scan(_ buffer: ByteBuffer) -> Progress {
        var progress = Progress()
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\r"):
                    continue
                case UInt8(ascii: "\n"):
                    endLine(&progress)
                default:
                    if lineLength == 0 { lineIsComment = byte == UInt8(ascii: ":") }
                    lineLength += 1
                    match(byte)
                }
            }
        }
        return progress
    }

    /// Advances the `[DONE]` match; the space after `data:` is optional.
    @inline(__always)
    private mutating func match(_ byte: UInt8) {
        guard doneMatch >= 0 else { return }
        if doneMatch < Self.done.count, Self.done[doneMatch] == byte {
            doneMatch += 1
        } else if doneMatch == Self.colonIndex + 1, byte == UInt8(ascii: "[") {
            doneMatch += 2
        } else {
            doneMatch = -1
        }
    }

    private mutating func endLine(_ progress: inout Progress) {
        if lineLength == 0 {
            if eventHasField {
                progress.events += 1
                if eventIsDone { progress.sawDone = true }
            }
            eventHasField = false
            eventIsDone = false
        } else if !lineIsComment {
            eventHasField = true
            if doneMatch == Self.done.count { eventIsDone = true }
        }
        lineLength = 0
        doneMatch = 0
    }
}
