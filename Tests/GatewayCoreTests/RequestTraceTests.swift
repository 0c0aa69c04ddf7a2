import InMemoryTracing
import MetricsTestKit
import NIOCore
import NIOHTTP1
import Testing
import Tracing
@testable import GatewayCore

/// A request's spans (``RequestTrace``) against swift-distributed-tracing's in-memory tracer: the
/// attempt lifecycle, the attributes, the events, and the answer scan that feeds them.
@Suite struct RequestTraceTests {
    let tracer = InMemoryTracer()

    func observer(logBodies: Bool = false) -> RequestObserver {
        RequestObserver(logBodies: logBodies, tracer: GatewayTracer(tracer, recordBodies: logBodies))
    }

    func values(_ key: StaticString, _ text: String, limit: Int = 8) -> [String] {
        Array(text.utf8).withUnsafeBytes { RequestTrace.stringValues(of: key, in: $0, limit: limit) }
    }

    @Test func theAnswerScanReadsStringValuesWithoutAParse() {
        #expect(values("model", #"{"id":"x","model" : "gpt-4o-2024","usage":{}}"#) == ["gpt-4o-2024"])
        #expect(values("finish_reason", #"[{"finish_reason":"stop"},{"finish_reason": "length"},{"finish_reason":"stop"}]"#)
            == ["stop", "length"])
        // Not a string, escaped, or cut off: skipped rather than guessed.
        #expect(values("finish_reason", #"{"finish_reason":null}"#).isEmpty)
        #expect(values("model", #"{"model":"a\"b"}"#).isEmpty)
        #expect(values("model", #"{"model":"unterminated"#).isEmpty)
        #expect(values("model", #"{"model":"a","model":"b"}"#, limit: 1) == ["a"])
        #expect(values("model", "").isEmpty)
    }

    @Test func withoutATracerARecordHasNoTrace() {
        let record = RequestObserver().makeRecord(method: "POST", route: "/v1/chat/completions", traceID: "t", body: nil)
        #expect(record.trace == nil)
    }

    @Test func aFailedAttemptAndAnAnsweredOneAreSiblingClientSpansUnderTheServerSpan() throws {
        let observer = observer()
        var clientHeaders = HTTPHeaders()
        clientHeaders.add(name: "traceparent", value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        let record = observer.makeRecord(method: "POST", route: "/v1/chat/completions", traceID: "client-trace", body: nil,
                                         headers: clientHeaders)
        let trace = try #require(record.trace)
        let url = try #require(UpstreamURL("https://api.example.com:8443/v1/chat/completions?key=secret"))

        var first = clientHeaders
        trace.attemptStarted(provider: "openai", model: "gpt-4o", target: "config.targets[0]", method: "POST", url: url,
                             headers: &first)
        // The client's traceparent is replaced by the attempt's own context.
        #expect(first["traceparent"].isEmpty)
        #expect(first.first(name: InMemoryTracer.spanIDKey) != nil)
        trace.attemptAnswered(status: 503, complete: true)
        var second = HTTPHeaders()
        trace.attemptStarted(provider: "openai", model: "gpt-4o", target: "config.targets[1]", method: "POST", url: url,
                             headers: &second)
        #expect(second.first(name: InMemoryTracer.spanIDKey) != first.first(name: InMemoryTracer.spanIDKey))
        trace.attemptAnswered(status: 200, complete: true)
        record.observe(body: ByteBuffer(string: #"{"model":"gpt-4o-2024-08-06","choices":[{"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4}}"#))
        record.update { fields in
            fields.provider = "openai"
            fields.model = "gpt-4o"
            fields.attempts = 2
            fields.target = "config.targets[1]"
        }
        trace.event("cache", ["switchboard.cache": "MISS"])
        observer.finished(record, status: 200)

        let spans = tracer.finishedSpans
        #expect(spans.count == 3)
        let server = try #require(spans.first { $0.kind == .server })
        let attempts = spans.filter { $0.kind == .client }
        #expect(attempts.count == 2)
        #expect(attempts.allSatisfy { $0.parentSpanID == server.spanID })
        #expect(server.operationName == "POST /v1/chat/completions")
        #expect(attempts.map(\.operationName) == ["chat gpt-4o", "chat gpt-4o"])

        let failed = attempts[0].attributes, answered = attempts[1].attributes
        #expect(failed.get("switchboard.target") == .string("config.targets[0]"))
        #expect(failed.get("http.response.status_code") == .int64(503))
        #expect(failed.get("error.type") == .string("503"))
        #expect(attempts[0].status?.code == .error)
        #expect(answered.get("switchboard.attempt") == .int64(2))
        #expect(answered.get("gen_ai.response.model") == .string("gpt-4o-2024-08-06"))
        #expect(answered.get("gen_ai.usage.output_tokens") == .int64(4))
        #expect(attempts[1].status == nil)
        // The query (which can hold a key) stays out of the URL attribute.
        #expect(answered.get("url.full") == .string("https://api.example.com:8443/v1/chat/completions"))
        #expect(answered.get("server.port") == .int64(8443))

        let attributes = server.attributes
        #expect(attributes.get("gen_ai.operation.name") == .string("chat"))
        #expect(attributes.get("gen_ai.provider.name") == .string("openai"))
        #expect(attributes.get("gen_ai.request.model") == .string("gpt-4o"))
        #expect(attributes.get("gen_ai.response.model") == .string("gpt-4o-2024-08-06"))
        #expect(attributes.get("gen_ai.usage.input_tokens") == .int64(9))
        #expect(attributes.get("gen_ai.response.finish_reasons") == .stringArray(["stop"]))
        #expect(attributes.get("switchboard.trace_id") == .string("client-trace"))
        #expect(attributes.get("switchboard.attempts") == .int64(2))
        #expect(attributes.get("switchboard.request.body") == nil)
        #expect(server.events.map(\.name) == ["cache"])
    }

    @Test func anAttemptThatNeverAnsweredEndsWithItsError() throws {
        let record = observer().makeRecord(method: "POST", route: "/v1/embeddings", traceID: "t", body: nil)
        let trace = try #require(record.trace)
        var headers = HTTPHeaders()
        trace.attemptStarted(provider: "mistral", model: nil, target: nil, method: "POST",
                             url: try #require(UpstreamURL("http://127.0.0.1:1/v1/embeddings")), headers: &headers)
        trace.attemptFailed(.upstreamTimeout(provider: "mistral", seconds: 5))
        #expect(tracer.finishedSpans.count == 1)
        let attempt = try #require(tracer.finishedSpans.first)
        #expect(attempt.operationName == "embeddings")
        #expect(attempt.status?.code == .error)
        #expect(attempt.attributes.get("error.type") != nil)
        RequestObserver(tracer: GatewayTracer(tracer)).finished(record, status: 504, errorCode: "upstream_timeout")
        let server = try #require(tracer.finishedSpans.first { $0.kind == .server })
        #expect(server.status?.code == .error)
        #expect(server.attributes.get("error.type") == .string("upstream_timeout"))
    }

    @Test func bodiesGoOnTheServerSpanOnlyWithBodyLogging() throws {
        let observer = observer(logBodies: true)
        let record = observer.makeRecord(method: "POST", route: "/v1/chat/completions", traceID: "t",
                                         body: ByteBuffer(string: #"{"messages":[{"role":"user","content":"the prompt"}]}"#))
        record.observe(body: ByteBuffer(string: #"{"choices":[{"message":{"content":"the answer"}}]}"#))
        observer.finished(record, status: 200)
        let server = try #require(tracer.finishedSpans.first { $0.kind == .server })
        guard case .string(let request) = server.attributes.get("switchboard.request.body"),
              case .string(let response) = server.attributes.get("switchboard.response.body") else {
            Issue.record("no bodies on the span: \(server.attributes)")
            return
        }
        #expect(request.contains("the prompt") && response.contains("the answer"))
    }

    @Test func genAIMetricsFollowTheSemanticConventions() throws {
        let factory = TestMetrics()
        let metrics = GatewayMetrics(genAI: factory)
        var fields = RequestRecord.Fields()
        fields.provider = "anthropic"
        fields.model = "claude-sonnet-4"
        fields.tokensIn = 100
        fields.tokensOut = 11
        fields.firstChunk = .milliseconds(200)
        metrics.genAIFinished(operation: "chat", fields: fields, duration: .milliseconds(1200))
        let duration = try factory.expectRecorder(GatewayMetrics.GenAIName.operationDuration, [
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.request.model", "claude-sonnet-4")])
        #expect(duration.lastValue == 1.2)
        let ttft = try factory.expectRecorder(GatewayMetrics.GenAIName.timeToFirstToken, [
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.request.model", "claude-sonnet-4")])
        #expect(ttft.lastValue == 0.2)
        let perToken = try factory.expectRecorder(GatewayMetrics.GenAIName.timePerOutputToken, [
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.request.model", "claude-sonnet-4")])
        #expect(perToken.lastValue == 0.1)  // (1.2 s - 0.2 s) over the 10 tokens after the first
        let output = try factory.expectRecorder(GatewayMetrics.GenAIName.tokenUsage, [
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.request.model", "claude-sonnet-4"),
            ("gen_ai.token.type", "output")])
        #expect(output.lastValue == 11)
        // Without an OTLP factory nothing is made.
        let none = TestMetrics()
        GatewayMetrics(factory: none).genAIFinished(operation: "chat", fields: fields, duration: .seconds(1))
        #expect(none.recorders.isEmpty)
    }
}
