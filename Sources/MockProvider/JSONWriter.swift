import NIOCore

/// Hand-rolled JSON output straight into a `ByteBuffer`.
///
/// Why: every response is small and has a fixed key order, so writing static fragments plus a
/// few escaped strings and integers is far cheaper than building dictionaries for
/// `JSONSerialization`, and it keeps the key order identical to the real providers'.
extension ByteBuffer {
    /// Writes `value` as a JSON string literal, quotes included.
    mutating func writeJSONString(_ value: String) {
        writeInteger(UInt8(ascii: "\""))
        var pendingStart = value.utf8.startIndex
        let utf8 = value.utf8
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                writeSubstring(Substring(utf8[pendingStart..<index]))
                writeEscaped(byte)
                pendingStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        writeSubstring(Substring(utf8[pendingStart..<utf8.endIndex]))
        writeInteger(UInt8(ascii: "\""))
    }

    private mutating func writeEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): writeStaticString("\\\"")
        case UInt8(ascii: "\\"): writeStaticString("\\\\")
        case UInt8(ascii: "\n"): writeStaticString("\\n")
        case UInt8(ascii: "\r"): writeStaticString("\\r")
        case UInt8(ascii: "\t"): writeStaticString("\\t")
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            writeStaticString("\\u00")
            writeInteger(hex[Int(byte >> 4)])
            writeInteger(hex[Int(byte & 0xF)])
        }
    }

    /// Writes a JSON string value or `null`.
    mutating func writeJSONStringOrNull(_ value: String?) {
        if let value { writeJSONString(value) } else { writeStaticString("null") }
    }

    /// Writes a decimal integer.
    mutating func writeJSONInt(_ value: Int) {
        writeString(String(value))
    }

    /// Writes a float in Swift's shortest round-trip form, which is valid JSON for finite values.
    mutating func writeJSONFloat(_ value: Float) {
        writeString(value.isFinite ? String(value) : "0")
    }
}
