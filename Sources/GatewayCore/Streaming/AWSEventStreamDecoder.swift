public import NIOCore

/// Splits an AWS event stream (`application/vnd.amazon.eventstream`, as Bedrock's ConverseStream
/// sends) into messages as bytes arrive, and hands each on as an ``SSEEvent`` so provider scripts
/// see one kind of event: the name is the `:event-type` header (`exception:<type>` for exception
/// messages) and the data is the payload (JSON).
///
/// Frame: total length (4, big-endian), headers length (4), prelude CRC32 (4), headers, payload,
/// message CRC32 (4). Both CRCs are checked; a bad frame is an error, never a silently wrong answer.
/// Hand-written: no package in the mirror decodes this framing (it is AWS SDK internals).
public struct AWSEventStreamDecoder: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private var pending: [UInt8] = []
    /// Largest message accepted (AWS caps event-stream messages at 16 MB).
    static let maxMessage = 16 * 1024 * 1024

    public init() {}

    public var hasPartialMessage: Bool { !pending.isEmpty }

    public mutating func feed(_ chunk: ByteBuffer) throws(Failure) -> [SSEEvent] {
        pending.append(contentsOf: chunk.readableBytesView)
        var events: [SSEEvent] = []
        var offset = 0
        while pending.count - offset >= 12 {
            let total = Int(readUInt32(at: offset))
            let headersLength = Int(readUInt32(at: offset + 4))
            guard total >= 16, total <= Self.maxMessage, headersLength <= total - 16 else {
                throw Failure(description: "invalid event-stream prelude (length \(total), headers \(headersLength))")
            }
            guard CRC32.checksum(pending[offset..<(offset + 8)]) == readUInt32(at: offset + 8) else {
                throw Failure(description: "event-stream prelude checksum mismatch")
            }
            guard pending.count - offset >= total else { break }
            guard CRC32.checksum(pending[offset..<(offset + total - 4)]) == readUInt32(at: offset + total - 4) else {
                throw Failure(description: "event-stream message checksum mismatch")
            }
            let headers = try parseHeaders(pending[(offset + 12)..<(offset + 12 + headersLength)])
            let payload = Array(pending[(offset + 12 + headersLength)..<(offset + total - 4)])
            let name: String?
            if headers[":message-type"] == "exception" || headers[":message-type"] == "error" {
                name = "exception:" + (headers[":exception-type"] ?? headers[":error-code"] ?? "unknown")
            } else {
                name = headers[":event-type"]
            }
            events.append(SSEEvent(name: name, data: payload))
            offset += total
        }
        if offset > 0 { pending.removeFirst(offset) }
        return events
    }

    private func readUInt32(at index: Int) -> UInt32 {
        UInt32(pending[index]) << 24 | UInt32(pending[index + 1]) << 16 | UInt32(pending[index + 2]) << 8
            | UInt32(pending[index + 3])
    }

    /// String-valued headers (type 7); other header types are skipped by their sizes.
    private func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(Failure) -> [String: String] {
        var headers: [String: String] = [:]
        var index = bytes.startIndex
        func need(_ count: Int) throws(Failure) {
            guard bytes.endIndex - index >= count else { throw Failure(description: "truncated event-stream header") }
        }
        while index < bytes.endIndex {
            try need(1)
            let nameLength = Int(bytes[index])
            index += 1
            try need(nameLength + 1)
            let name = String(decoding: bytes[index..<(index + nameLength)], as: UTF8.self)
            index += nameLength
            let type = bytes[index]
            index += 1
            let fixed: [UInt8: Int] = [0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16]
            if let size = fixed[type] {
                try need(size)
                index += size
            } else if type == 6 || type == 7 {
                try need(2)
                let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
                index += 2
                try need(length)
                if type == 7 { headers[name] = String(decoding: bytes[index..<(index + length)], as: UTF8.self) }
                index += length
            } else {
                throw Failure(description: "unknown event-stream header type \(type)")
            }
        }
        return headers
    }
}

/// CRC-32 (IEEE 802.3, the zlib one), table-driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
