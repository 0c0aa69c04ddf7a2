import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayCore

@Suite struct AnswerChecksTests {
    private func tail(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func openAIStreamsEndWithDone() {
        let done = StreamTerminal.openAIDone
        #expect(done.endsStream(tail("data: {\"a\":1}\n\ndata: [DONE]\n\n")))
        #expect(done.endsStream(tail("data:[DONE]\r\n\r\n")))
        #expect(done.endsStream(tail("data: [DONE]")))  // no final blank line: still the last event
        #expect(!done.endsStream(tail("data: {\"a\":1}\n\n")))
        #expect(!done.endsStream(tail("data: [DONE]\n\ndata: {\"a\":1}\n\n")))
        #expect(!done.endsStream(tail("")))
        #expect(!done.endsStream(tail("data: [DON")))
    }

    @Test func anthropicStreamsEndWithMessageStop() {
        let stop = StreamTerminal.messageStop
        #expect(stop.endsStream(tail("event: message_delta\ndata: {}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")))
        #expect(stop.endsStream(tail("data: {\"type\": \"message_stop\"}\n\n")))
        #expect(!stop.endsStream(tail("event: message_delta\ndata: {\"type\":\"message_delta\"}\n\n")))
        #expect(!stop.endsStream(tail("event: content_block_delta\ndata: {\"text\":\"message_stop\"}\n\n")))
    }

    @Test func anUpstreamErrorEventEndsAStream() {
        #expect(StreamTerminal.openAIDone.endsStream(tail("data: {\"error\":{\"message\":\"x\"}}\n\n")))
        #expect(StreamTerminal.messageStop.endsStream(tail("event: error\ndata: {\"type\":\"error\",\"error\":{}}\n\n")))
    }

    @Test func terminalsByClientDialect() {
        #expect(StreamTerminal.of(.chatCompletions) == .openAIDone)
        #expect(StreamTerminal.of(.completions) == .openAIDone)
        #expect(StreamTerminal.of(.messages) == .messageStop)
        #expect(StreamTerminal.of(.passthrough) == nil)
    }

    @Test func theTailKeepsTheLastBytesAcrossChunks() {
        var kept: [UInt8] = []
        let capacity = TerminalCheckedStream.tailCapacity
        TerminalCheckedStream.AsyncIterator.keep(ByteBuffer(string: "data: " + String(repeating: "x", count: 1000) + "\n\n"), in: &kept)
        #expect(kept.count == capacity)
        TerminalCheckedStream.AsyncIterator.keep(ByteBuffer(string: "data: [DON"), in: &kept)
        TerminalCheckedStream.AsyncIterator.keep(ByteBuffer(string: "E]\n\n"), in: &kept)
        #expect(kept.count == capacity)
        #expect(StreamTerminal.openAIDone.endsStream(kept))
        var small: [UInt8] = []
        TerminalCheckedStream.AsyncIterator.keep(ByteBuffer(string: "ab"), in: &small)
        TerminalCheckedStream.AsyncIterator.keep(ByteBuffer(string: "cd"), in: &small)
        #expect(small == Array("abcd".utf8))
    }

    @Test func truncatedJSONIsA502AndOnlyForJSON() {
        var json = HTTPHeaders()
        json.add(name: "content-type", value: "application/json; charset=utf-8")
        #expect(throws: GatewayError.self) {
            try Gateway.checkUpstreamJSON(status: 200, headers: json, body: ByteBuffer(string: "{\"id\":\"x\",\"cho"), provider: "p")
        }
        var thrown: GatewayError?
        do throws(GatewayError) {
            try Gateway.checkUpstreamJSON(status: 200, headers: json, body: ByteBuffer(string: "{\"a\""), provider: "p")
        } catch {
            thrown = error
        }
        #expect(thrown?.status == 502 && thrown?.code == "invalid_upstream_response")
        #expect(throws: Never.self) {
            try Gateway.checkUpstreamJSON(status: 200, headers: json, body: ByteBuffer(string: "{\"id\":\"x\"}"), provider: "p")
            try Gateway.checkUpstreamJSON(status: 500, headers: json, body: ByteBuffer(string: "{\"e"), provider: "p")
            try Gateway.checkUpstreamJSON(method: .HEAD, status: 200, headers: json, body: ByteBuffer(), provider: "p")
            var text = HTTPHeaders()
            text.add(name: "content-type", value: "text/plain")
            try Gateway.checkUpstreamJSON(status: 200, headers: text, body: ByteBuffer(string: "{\"e"), provider: "p")
        }
        var problem = HTTPHeaders()
        problem.add(name: "Content-Type", value: " Application/Problem+JSON ")
        #expect(Gateway.isJSONContentType(problem))
        func isJSON(_ value: String) -> Bool {
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: value)
            return Gateway.isJSONContentType(headers)
        }
        #expect(isJSON("application/json"))
        #expect(isJSON("APPLICATION/JSON; charset=utf-8"))
        #expect(isJSON("\tapplication/vnd.api+json ;charset=utf-8"))
        #expect(!isJSON("application/jsonl"))
        #expect(!isJSON("xapplication/json"))
        #expect(!isJSON("application/x-ndjson"))
        #expect(!isJSON("text/event-stream"))
        #expect(!isJSON("json"))
        #expect(!isJSON(""))
        #expect(!Gateway.isJSONContentType(HTTPHeaders()))
    }
}

/// Which headers are never relayed between client and upstream (Gateway+Wire.swift).
@Suite struct HopByHopTests {
    @Test func theHopByHopAndFramingHeadersAreKnownByName() {
        for name in ["te", "host", "trailer", "upgrade", "connection", "keep-alive", "content-length", "proxy-connection",
                     "transfer-encoding", "proxy-authenticate", "proxy-authorization"] {
            #expect(Gateway.isHopByHop(name), "\(name)")
        }
        for name in ["tx", "hosts", "content-type", "keep-alivf", "accept", "authorization", "x-request-id", "", "transfer-encodings"] {
            #expect(!Gateway.isHopByHop(name), "\(name)")
        }
    }
}
