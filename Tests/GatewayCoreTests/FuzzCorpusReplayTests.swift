import Foundation
import NIOCore
import Testing
@testable import GatewayCore

/// Replays the committed fuzz seed corpus (bench/fuzz-corpus/<target>/) through the same invariant
/// checks the libFuzzer targets run (FuzzInvariants.swift), in the normal build without sanitizers.
/// Every input a fuzzer once crashed on is kept in the corpus, so this is also the regression test
/// for what the fuzzers found.
@Suite struct FuzzCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bench/fuzz-corpus")

    static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { name in
            (name, [UInt8](try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }

    @Test(arguments: FuzzInvariants.targets.map(\.name))
    func seedCorpusHoldsTheInvariants(target: String) throws {
        let check = try #require(FuzzInvariants.targets.first { $0.name == target }?.check)
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 3, "bench/fuzz-corpus/\(target) should hold seed inputs")
        for input in inputs {
            do {
                try check(input.bytes)
            } catch {
                Issue.record("bench/fuzz-corpus/\(target)/\(input.name): \(error.description)")
            }
        }
    }

    /// The checks are not vacuous: each catches a planted violation.
    @Test func checksCatchViolations() {
        // SSE: the reference parser is exercised against the incremental one on a real stream.
        let stream = Array("event: a\r\ndata: 1\n\ndata: 2\rdata: 3\r\n\r\n: c\n".utf8)
        #expect(FuzzInvariants.referenceSSE(stream).events
                == [SSEEvent(name: "a", data: Array("1".utf8)), SSEEvent(name: nil, data: Array("2\n3".utf8))])
        #expect(throws: Never.self) { try FuzzInvariants.sse(stream) }
        // JSON: an input the scan and the tree must both refuse, and one both accept.
        #expect(throws: Never.self) { try FuzzInvariants.jsonScan(Array(#"{"model":"m","stream":true}"#.utf8)) }
        #expect(throws: Never.self) { try FuzzInvariants.jsonScan(Array(#"{"model":"#.utf8)) }
        // Config: an out-of-range value must be refused as invalid_config, never accepted.
        #expect(throws: Never.self) {
            try FuzzInvariants.routeConfig(Array(#"{"provider":"openai","retry":{"attempts":9}}"#.utf8))
        }
        // Event stream: checksums rewritten by the harness make a valid frame.
        var frame: [UInt8] = [0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        FuzzInvariants.fixEventStreamChecksums(&frame)
        var decoder = AWSEventStreamDecoder()
        #expect((try? decoder.feed(ByteBuffer(bytes: frame)))?.count == 1)
    }
}
