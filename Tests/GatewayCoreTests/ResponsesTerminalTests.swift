import Foundation
import NIOCore
import Testing
@testable import GatewayCore

/// A Responses stream relayed as it is ends with `response.completed` (or `.incomplete`,
/// `.failed`), an event that carries the whole response and so is longer than the tail the
/// check keeps: it is known by the head of the last event.
@Suite struct ResponsesTerminalTests {
    /// Feeds `chunks` as the iterator does and returns whether the stream counts as complete.
    private func complete(_ chunks: [String], _ terminal: StreamTerminal = .responseCompleted) -> Bool {
        var head: [UInt8] = []
        var tail: [UInt8] = []
        for chunk in chunks {
            let buffer = ByteBuffer(string: chunk)
            SSETail.noteEventStart(buffer, previous: tail, head: &head)
            TerminalCheckedStream.AsyncIterator.keep(buffer, in: &tail)
        }
        return terminal.endsStream(head: head, tail: tail)
    }

    private let delta = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\n\n"
    private func completed(_ name: String = "response.completed", size: Int = 2000) -> String {
        "event: \(name)\ndata: {\"type\":\"\(name)\",\"response\":{\"output_text\":\""
            + String(repeating: "y", count: size) + "\"}}\n\n"
    }

    @Test func aLongCompletedEventEndsTheStream() {
        #expect(complete([delta, completed()]))
        #expect(complete([delta, completed("response.incomplete")]))
        #expect(complete([delta, completed("response.failed")]))
        #expect(complete([delta + completed(size: 10)]))  // short enough for the tail alone
    }

    @Test func theHeadIsFoundWhateverTheChunking() {
        let whole = delta + delta + completed()
        for size in [1, 2, 3, 7, 64, 300] {
            var chunks: [String] = []
            var rest = Substring(whole)
            while !rest.isEmpty {
                chunks.append(String(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            #expect(complete(chunks), "chunks of \(size) bytes")
        }
        // A CRLF stream.
        #expect(complete([delta.replacingOccurrences(of: "\n", with: "\r\n"),
                          completed().replacingOccurrences(of: "\n", with: "\r\n")]))
    }

    @Test func aStreamWithoutItsTerminalIsCut() {
        #expect(!complete([delta, delta]))
        #expect(!complete([]))
        // Cut inside the completed event: it never ended, so it was not dispatched.
        let cut = completed()
        #expect(!complete([delta, String(cut.prefix(cut.count - 40))]))
        // The terminal of another dialect does not count.
        #expect(!complete([delta, completed("message_stop")]))
        #expect(!complete([delta, completed()], .openAIDone))
    }

    @Test func theResponsesEndpointHasThisTerminal() {
        #expect(StreamTerminal.of(.responses) == .responseCompleted)
    }

    @Test func theGatewaysErrorEventIsOneTheSDKRaises() throws {
        let error = GatewayError(status: 502, type: .upstream, message: "cut \"short\"", code: "stream_truncated")
        let event = try #require(JSONTree.parse(ByteBuffer(bytes: error.responsesErrorEvent)))
        #expect(event["type"] == .string("error"))
        #expect(event["code"] == .string("stream_truncated"))
        #expect(event["message"] == .string("cut \"short\""))
        // The openai SDKs raise an APIError for stream data with an `error` object.
        #expect(event["error"]?["message"] == .string("cut \"short\""))
        #expect(event["error"]?["type"] == .string("upstream_error"))
    }
}
