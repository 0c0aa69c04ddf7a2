import NIOCore
import Testing
@testable import GatewayCore

@Suite struct SSEParserTests {
    func parse(_ chunks: [String]) -> [SSEEvent] {
        var parser = SSEParser()
        return chunks.flatMap { parser.feed(ByteBuffer(string: $0)) }
    }

    func event(_ name: String?, _ data: String) -> SSEEvent { SSEEvent(name: name, data: Array(data.utf8)) }

    @Test func namedEventsAndDataAcrossArbitraryCuts() {
        let wire = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive comment\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n"
        let whole = parse([wire])
        #expect(whole == [event("message_start", #"{"a":1}"#), event("ping", "{}"), event(nil, "[DONE]")])
        // Every possible cut into two chunks, and byte by byte, gives the same events.
        for cut in 0...wire.utf8.count {
            let bytes = Array(wire.utf8)
            let parts = [String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[cut...], as: UTF8.self)]
            #expect(parse(parts) == whole)
        }
        #expect(parse(wire.map { String($0) }) == whole)
    }

    @Test func lineEndingsMultiLineDataAndSpaces() {
        #expect(parse(["data:x\r\ndata:  y\r\n\r\n"]) == [event(nil, "x\n y")])
        #expect(parse(["event:e\rdata: z\r\r"]) == [event("e", "z")])
        #expect(parse(["id: 3\nretry: 10\ndata: k\n\n"]) == [event(nil, "k")])
        #expect(parse(["data\n\n"]) == [event(nil, "")])
    }

    @Test func aCutStreamLeavesAPartialEvent() {
        var parser = SSEParser()
        #expect(parser.feed(ByteBuffer(string: "data: {\"par")).isEmpty)
        #expect(parser.hasPartialEvent)
        var complete = SSEParser()
        _ = complete.feed(ByteBuffer(string: "data: 1\n\n"))
        #expect(!complete.hasPartialEvent)
    }
}
