import Foundation
import NIOCore

/// A request body that has been validated as a JSON object, with lazy access to its
/// top-level members.
///
/// Why: endpoints need only a handful of fields (`model`, `stream`, `mock`, …). Reading
/// them from byte ranges keeps the common case free of Foundation; `decode(_:)` parses a
/// single member with `JSONSerialization` when a structured value is really needed.
struct JSONBody {
    let buffer: ByteBuffer
    let fields: [JSONScanner.Field]

    /// Validates `buffer`; throws the scanner's failure (turned into a 400 by callers).
    init(_ buffer: ByteBuffer) throws(JSONScanner.Failure) {
        self.buffer = buffer
        self.fields = try buffer.withUnsafeReadableBytes { bytes throws(JSONScanner.Failure) in
            try JSONScanner.topLevelFields(of: bytes)
        }
    }

    /// The last member called `name` (later duplicates win, as in most parsers).
    func field(_ name: StaticString) -> JSONScanner.Field? {
        let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, let expected = wanted.baseAddress else { return nil }
            for field in fields.reversed() where field.key.count == wanted.count {
                if memcmp(base + field.key.lowerBound, expected, wanted.count) == 0 {
                    return field
                }
            }
            return nil
        }
    }

    func has(_ name: StaticString) -> Bool {
        field(name) != nil
    }

    /// The raw JSON text of a member's value (strings keep their quotes and escapes), so it can be
    /// copied verbatim into a response without decoding and re-encoding.
    func raw(_ field: JSONScanner.Field) -> ByteBuffer {
        buffer.getSlice(at: buffer.readerIndex + field.value.lowerBound, length: field.value.count)!
    }

    /// Byte length of a member's raw value; the basis of the mock's token estimates.
    func length(_ name: StaticString) -> Int {
        field(name)?.value.count ?? 0
    }

    /// True only for a literal `true`.
    func isTrue(_ name: StaticString) -> Bool {
        guard let field = field(name), field.kind == .bool else { return false }
        return field.value.count == 4
    }

    /// A string member, decoded. Strings without escapes are read directly.
    func string(_ name: StaticString) -> String? {
        field(name).flatMap { string(of: $0) }
    }

    /// Decodes a string value; nil when the value is not a string.
    func string(of field: JSONScanner.Field) -> String? {
        guard field.kind == .string else { return nil }
        let inner = field.value.dropFirst().dropLast()
        let direct: String? = buffer.withUnsafeReadableBytes { bytes in
            let slice = UnsafeRawBufferPointer(rebasing: bytes[inner])
            return slice.contains(UInt8(ascii: "\\")) ? nil : String(decoding: slice, as: UTF8.self)
        }
        return direct ?? (decode(field) as? String)
    }

    /// The value of `field` as text: strings decoded, everything else as its raw JSON.
    func text(of field: JSONScanner.Field) -> String {
        string(of: field)
            ?? buffer.getString(at: buffer.readerIndex + field.value.lowerBound, length: field.value.count)
            ?? ""
    }

    /// The member's name (escape sequences are left as written; control names never need them).
    func key(of field: JSONScanner.Field) -> String {
        buffer.getString(at: buffer.readerIndex + field.key.lowerBound, length: field.key.count) ?? ""
    }

    /// An integer member; accepts integral numbers only.
    func int(_ name: StaticString) -> Int? {
        guard let field = field(name), field.kind == .number else { return nil }
        let text = buffer.getString(at: buffer.readerIndex + field.value.lowerBound, length: field.value.count) ?? ""
        if let value = Int(text) { return value }
        if let double = Double(text), double == double.rounded(), abs(double) < 1e15 { return Int(double) }
        return nil
    }

    /// Parses one member's value with Foundation (fragments allowed). Only used off the hot path.
    func decode(_ field: JSONScanner.Field) -> Any? {
        let data = buffer.withUnsafeReadableBytes { bytes in
            Data(bytes[field.value])
        }
        return try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    func decode(_ name: StaticString) -> Any? {
        field(name).flatMap { decode($0) }
    }
}
