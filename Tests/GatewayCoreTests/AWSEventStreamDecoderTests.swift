import NIOCore
import Testing
@testable import GatewayCore

@Suite struct AWSEventStreamDecoderTests {
    /// One event-stream message, framed as AWS documents it.
    static func frame(_ headers: [(String, String)], _ payload: String) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            headerBytes.append(UInt8(name.utf8.count))
            headerBytes += Array(name.utf8)
            headerBytes.append(7)
            headerBytes += [UInt8(value.utf8.count >> 8), UInt8(value.utf8.count & 0xFF)]
            headerBytes += Array(value.utf8)
        }
        let total = 12 + headerBytes.count + payload.utf8.count + 4
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        var message = be(UInt32(total)) + be(UInt32(headerBytes.count))
        message += be(CRC32.checksum(message[...]))
        message += headerBytes + Array(payload.utf8)
        message += be(CRC32.checksum(message[...]))
        return message
    }

    @Test func crcMatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)[...]) == 0xCBF4_3926)
    }

    @Test func decodesEventsAndExceptionsAcrossEveryCut() throws {
        let wire = Self.frame([(":event-type", "messageStart"), (":content-type", "application/json"), (":message-type", "event")],
                              #"{"role":"assistant"}"#)
            + Self.frame([(":event-type", "contentBlockDelta"), (":message-type", "event")], #"{"delta":{"text":"Hi"}}"#)
            + Self.frame([(":exception-type", "throttlingException"), (":message-type", "exception")], #"{"message":"slow down"}"#)
        var whole = AWSEventStreamDecoder()
        let events = try whole.feed(ByteBuffer(bytes: wire))
        #expect(events.map(\.name) == ["messageStart", "contentBlockDelta", "exception:throttlingException"])
        #expect(events[1].data == Array(#"{"delta":{"text":"Hi"}}"#.utf8))
        #expect(!whole.hasPartialMessage)
        for cut in stride(from: 0, through: wire.count, by: 7) {
            var decoder = AWSEventStreamDecoder()
            let first = try decoder.feed(ByteBuffer(bytes: wire[..<cut]))
            let rest = try decoder.feed(ByteBuffer(bytes: wire[cut...]))
            #expect(first + rest == events)
        }
    }

    @Test func corruptFramesAreErrors() {
        var wire = Self.frame([(":event-type", "messageStop")], #"{"stopReason":"end_turn"}"#)
        wire[wire.count - 6] ^= 0xFF  // flip a payload byte: the message CRC no longer matches
        var decoder = AWSEventStreamDecoder()
        #expect(throws: AWSEventStreamDecoder.Failure.self) { try decoder.feed(ByteBuffer(bytes: wire)) }
        var prelude = Self.frame([(":event-type", "x")], "{}")
        prelude[9] ^= 0x01
        var second = AWSEventStreamDecoder()
        #expect(throws: AWSEventStreamDecoder.Failure.self) { try second.feed(ByteBuffer(bytes: prelude)) }
    }
}
