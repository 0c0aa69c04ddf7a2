import FoundationEssentials
import MetricsTestKit
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import GatewayCore

/// Token counting, the request log line and the metrics a finished request produces.
@Suite struct ObservabilityTests {
    func usage(_ text: String) -> UsageScanner.Usage {
        Array(text.utf8).withUnsafeBytes { UsageScanner.scan($0) }
    }

    @Test func tokensFromTheClientDialectsBodies() {
        #expect(usage(#"{"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#)
                == .init(input: 12, output: 7))
        #expect(usage(#"{"type":"message","usage": {"input_tokens": 25, "cache_read_input_tokens": 3, "output_tokens": 9}}"#)
                == .init(input: 25, output: 9, cacheRead: 3))
        // A provider's own shape (Gemini's, on a passthrough path) is not the client dialect's.
        #expect(usage(#"{"candidates":[],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6}}"#)
                == .init())
        // Nested detail objects are not mistaken for the totals; only their cached count is read.
        #expect(usage(#"{"usage":{"prompt_tokens_details":{"cached_tokens":100},"prompt_tokens":5,"completion_tokens":1}}"#)
                == .init(input: 5, output: 1, cachedInInput: 100))
        #expect(usage(#"{"usage":{"completion_tokens_details":{"cached_tokens":100,"prompt_tokens":9},"prompt_tokens":5}}"#)
                == .init(input: 5))
    }

    @Test func usageInsideContentIsNotCounted() {
        #expect(usage(#"{"content":"say \"usage\":{\"prompt_tokens\":999}","usage":null}"#) == .init())
        #expect(usage(#"{"choices":[{"delta":{"content":"hi"}}]}"#) == .init())
    }

    @Test func streamUsageSplitAcrossChunksIsFound() {
        let record = RequestRecord(method: "POST", route: "/v1/chat/completions", traceID: "t")
        let events = #"data: {"choices":[{"delta":{"content":"Hi"}}]}"# + "\n\n"
            + #"data: {"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":17}}"# + "\n\ndata: [DONE]\n\n"
        // Every cut position: the carry-over must join the halves of the usage line.
        for cut in stride(from: 1, to: events.utf8.count, by: 7) {
            let record = RequestRecord(method: "POST", route: "/v1/chat/completions", traceID: "t")
            let bytes = Array(events.utf8)
            record.observe(chunk: ByteBuffer(bytes: bytes[..<cut]))
            record.observe(chunk: ByteBuffer(bytes: bytes[cut...]))
            #expect(record.snapshot.tokensIn == 31, "cut at \(cut)")
            #expect(record.snapshot.tokensOut == 17, "cut at \(cut)")
        }
        // Anthropic: message_start has the input and a first output count, message_delta the final output.
        record.observe(chunk: ByteBuffer(string: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"))
        record.observe(chunk: ByteBuffer(string: "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n"))
        #expect(record.snapshot.tokensIn == 25)
        #expect(record.snapshot.tokensOut == 15)
    }

    @Test func logLineIsOneJSONObjectWithTheFields() throws {
        let record = RequestRecord(method: "POST", route: "/v1/chat/completions", traceID: "trace-\"1\"", keepBodies: true)
        record.update {
            $0.provider = "openai"
            $0.model = "gpt-4o\nnext\u{1}é"  // client-chosen: must not break the line
            $0.target = "config.targets[1]"
            $0.attempts = 3
            $0.retries = 2
            $0.upstreamLatency = .microseconds(1500)
            $0.tokensIn = 10
            $0.tokensOut = 4
            $0.cache = "MISS"
            $0.requestBody = ByteBuffer(string: #"{"model":"gpt-4o"}"#)
            $0.responseBody = ByteBuffer(string: "not json")
        }
        var spec = timespec()
        spec.tv_sec = 1_795_622_400  // 2026-11-25T16:00:00Z
        spec.tv_nsec = 7_000_000
        let line = RequestLogLine.render(record, record.snapshot, status: 200, latency: .milliseconds(12), wallClock: spec)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        let object = try #require(JSONTree.parse(line)?.fields)
        #expect(object["time"]?.jsonText == #""2026-11-25T16:00:00.007Z""#)
        #expect(object["trace_id"]?.jsonText == #""trace-\"1\"""#)
        #expect(object["model"]?.jsonText == JSONText.quote("gpt-4o\nnext\u{1}é"))
        #expect(object["status"]?.jsonText == "200")
        #expect(object["latency_ms"]?.double == 12)
        #expect(object["upstream_latency_ms"]?.double == 1.5)
        #expect(object["target"]?.jsonText == #""config.targets[1]""#)
        #expect(object["retries"]?.jsonText == "2")
        #expect(object["tokens_in"]?.jsonText == "10")
        #expect(object["cache"]?.jsonText == #""MISS""#)
        #expect(object["request_body"]?.jsonText == #"{"model":"gpt-4o"}"#)  // JSON stays JSON
        #expect(object["response_body"]?.jsonText == #""not json""#)
        // Without body logging there are no body fields at all.
        let plain = RequestRecord(method: "GET", route: "/v1/models", traceID: "t")
        let text = String(decoding: RequestLogLine.render(plain, plain.snapshot, status: 404, latency: .zero), as: UTF8.self)
        #expect(!text.contains("request_body"))
        #expect(text.contains(#""provider":null"#))
    }

    @Test func finishedRequestMovesCountersTimersAndTokens() throws {
        let test = TestMetrics()
        let observer = RequestObserver(metrics: GatewayMetrics(factory: test))
        let record = observer.makeRecord(method: "POST", route: "/v1/chat/completions", traceID: "t", body: nil)
        record.update {
            $0.provider = "anthropic"
            $0.model = "claude"
            $0.tokensIn = 11
            $0.tokensOut = 5
        }
        observer.finished(record, status: 200)
        observer.finished(record, status: 200)
        #expect(test.counterTotal(label: GatewayMetrics.Name.requests,
                                  dimensions: [("route", "/v1/chat/completions"), ("provider", "anthropic"), ("status", "200")]) == 2)
        #expect(test.counterTotal(label: GatewayMetrics.Name.tokens, dimensions: [("direction", "input"), ("model", "claude")]) == 22)
        #expect(test.counterTotal(label: GatewayMetrics.Name.tokens, dimensions: [("direction", "output")]) == 10)
        let timer = try test.expectTimer(GatewayMetrics.Name.requestDuration, [("route", "/v1/chat/completions"), ("provider", "anthropic")])
        #expect(timer.values.count == 2)
    }

    @Test func cooldownStartsAreCounted() {
        let test = TestMetrics()
        let tracker = CooldownTracker(settings: CooldownSettings(failures: 2, period: .seconds(30)),
                                      metrics: GatewayMetrics(factory: test))
        let now = ContinuousClock.now
        tracker.record("k", path: "config.targets[0]", provider: "openai", failed: true, now: now)
        #expect(test.counterTotal(label: GatewayMetrics.Name.cooldowns) == 0)
        tracker.record("k", path: "config.targets[0]", provider: "openai", failed: true, now: now)
        #expect(test.counterTotal(label: GatewayMetrics.Name.cooldowns, dimensions: [("provider", "openai")]) == 1)
    }

    @Test func clientChosenModelNamesCannotGrowSeriesWithoutBound() {
        let test = TestMetrics()
        let metrics = GatewayMetrics(factory: test)
        for n in 0..<(GatewayMetrics.maxModels + 50) {
            metrics.requestFinished(route: "/v1/chat/completions", provider: "openai", status: 200, duration: .zero,
                                    model: "model-\(n)", tokensIn: 1, tokensOut: nil)
        }
        let models = Set(test.counters(label: GatewayMetrics.Name.tokens).compactMap { counter in
            counter.dimensions.first { $0.0 == "model" }?.1
        })
        #expect(models.count == GatewayMetrics.maxModels + 1)
        #expect(models.contains("other"))
        #expect(test.counterTotal(label: GatewayMetrics.Name.tokens, dimensions: [("model", "other")]) == 50)
    }

    @Test func logWriterDropsInsteadOfGrowingWithoutBound() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let writer = LineWriter(descriptor: fds[1], maxBuffered: 100)
        writer.append(Array(repeating: UInt8(ascii: "a"), count: 60) + [10])
        writer.append(Array(repeating: UInt8(ascii: "b"), count: 60) + [10])  // over the bound: dropped
        #expect(writer.flush() == 1)
        var buffer = [UInt8](repeating: 0, count: 200)
        let count = read(fds[0], &buffer, 200)
        #expect(count == 61)
        #expect(buffer[0] == UInt8(ascii: "a"))
    }

    @Test func linesLostToAFailedWriteAreCountedAsDropped() {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[0])  // nobody reads: the write fails (EPIPE)
        defer { close(fds[1]) }
        signal(SIGPIPE, SIG_IGN)
        let writer = LineWriter(descriptor: fds[1])
        writer.append(Array("{\"a\":1}\n{\"b\":2}\n".utf8))
        #expect(writer.flush() == 2)
    }
}
