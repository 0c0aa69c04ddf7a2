import FoundationEssentials
import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayCore

/// Untrusted numbers in configs, headers and upstream answers: refused or capped, never a trap.
@Suite struct HardeningNumbersTests {
    let providers: Set<String> = ["openai"]

    func refusal(_ json: String) -> GatewayError? {
        do {
            _ = try RouteConfig.parse(json, knownProviders: providers)
            return nil
        } catch {
            return error
        }
    }

    /// Each of these trapped ("Double value cannot be converted to Int") before.
    @Test(arguments: [
        (#"{"retry":{"attempts":1e300},"provider":"openai","api_key":"k"}"#, "config.retry.attempts"),
        (#"{"retry":{"count":-1e300},"provider":"openai","api_key":"k"}"#, "config.retry.count"),
        (#"{"retry":{"attempts":"1e19"},"provider":"openai","api_key":"k"}"#, "config.retry.attempts"),
        (#"{"retry":{"attempts":2,"on_status_codes":[429,1e300]},"provider":"openai","api_key":"k"}"#,
         "config.retry.on_status_codes[1]"),
        (#"{"strategy":{"mode":"fallback","on_status_codes":[-1e300]},"targets":[{"provider":"openai"}]}"#,
         "config.strategy.on_status_codes[0]"),
        (#"{"request_timeout":1e300,"provider":"openai","api_key":"k"}"#, "config.request_timeout"),
        (#"{"cache":{"mode":"simple","max_age":1e300},"provider":"openai","api_key":"k"}"#, "config.cache.max_age"),
        (#"{"weight":"nan","provider":"openai","api_key":"k"}"#, "config.weight"),
    ])
    func hugeConfigNumbersAreRefusedByPath(_ json: String, _ path: String) {
        let error = refusal(json)
        #expect(error?.status == 400)
        #expect(error?.code == "invalid_config")
        #expect(error?.message.contains(path + ":") == true, "\(error?.message ?? "parsed")")
    }

    @Test func inRangeNumbersStillParse() throws {
        let config = try RouteConfig.parse(
            #"{"retry":{"attempts":5,"on_status_codes":[429,599]},"request_timeout":86400000,"cache":{"mode":"simple","max_age":31536000},"provider":"openai","api_key":"k"}"#,
            knownProviders: providers)
        #expect(config.root.retry?.attempts == 5)
        #expect(config.root.retry?.onStatusCodes == [429, 599])
        #expect(config.root.requestTimeout == 86_400_000)
        #expect(config.root.cache?.maxAge == .seconds(31_536_000))
    }

    /// A timeout header of Int.max overflowed `.milliseconds(Int64(ms))` (a trap) downstream.
    @Test(arguments: ["9223372036854775807", "86400001", "0", "-5", "1e3", "99999999999999999999999"])
    func requestTimeoutHeaderIsBounded(_ value: String) {
        #expect(throws: GatewayError.self) {
            try RequestOptions.parse(HTTPHeaders([("x-portkey-request-timeout", value)]), policy: CustomHostPolicy())
        }
    }

    func delay(retryAfter: String? = nil, retryAfterMs: String? = nil) -> Duration {
        let executor = RouteExecutor(attempt: { _ in .failure(.missingProvider()) }, sleep: { _ in }, random: { 0.5 },
                                     tuning: RetryTuning(maxRetryAfter: .seconds(30)), conditionInput: .object([]))
        var headers = HTTPHeaders()
        if let retryAfter { headers.add(name: "retry-after", value: retryAfter) }
        if let retryAfterMs { headers.add(name: "retry-after-ms", value: retryAfterMs) }
        let outcome = RouteExecutor.Outcome(
            result: .success(GatewayResponse(status: 429, headers: headers, body: .buffer(ByteBuffer()))),
            path: "config", retries: 0, log: [])
        return executor.delay(after: 0, outcome: outcome,
                              policy: RouteConfig.Retry(attempts: 1, onStatusCodes: [429], useRetryAfterHeader: true))
    }

    /// `Retry-After: 1e300` trapped in `Int64(seconds * 1000)`; now every absurd value is capped.
    @Test(arguments: ["1e300", "inf", "9223372036854775807", "1e18", "31"])
    func hugeRetryAfterIsCapped(_ value: String) {
        #expect(delay(retryAfter: value) == .seconds(30))
        #expect(delay(retryAfterMs: value == "31" ? "31000" : value) == .seconds(30))
    }

    @Test func readableRetryAfterIsHonoured() {
        #expect(delay(retryAfter: "2") == .seconds(2))
        #expect(delay(retryAfter: "0.5") == .milliseconds(500))
        #expect(delay(retryAfterMs: "1500") == .milliseconds(1500))
    }

    /// Negative, NaN and unreadable values are ignored: the jittered backoff applies (250 ms × 0.5).
    @Test(arguments: ["-1", "-1e300", "nan", "-inf", "soon"])
    func unusableRetryAfterFallsBackToBackoff(_ value: String) {
        #expect(delay(retryAfter: value) == .milliseconds(125))
        #expect(delay(retryAfterMs: value) == .milliseconds(125))
    }

    @Test func customHostWithLineBreakInConfigIsRefusedByPath() {
        let error = refusal(#"{"provider":"openai","api_key":"k","custom_host":"http://127.0.0.1:9/v1\r\nX-Smuggled: 1"}"#)
        #expect(error?.code == "invalid_config")
        #expect(error?.message.contains("config.custom_host: the URL contains a carriage return") == true,
                "\(error?.message ?? "parsed")")
    }

    /// Keys and provider settings reach upstream headers and URLs: a line break is refused by path,
    /// and the message never echoes the value (it may be a key).
    @Test func keysAndSettingsWithLineBreaksAreRefusedByPath() {
        let error = refusal(#"{"provider":"openai","api_key":"sk-SECRET\r\nX-Smuggled: 1","resource_name":"a\nb"}"#)
        #expect(error?.message.contains("config.api_key: the value contains a carriage return (CR)") == true, "\(error?.message ?? "parsed")")
        #expect(error?.message.contains("config.resource_name: the value contains a line feed (LF)") == true)
        #expect(error?.message.contains("SECRET") == false)
    }

    @Test func customHostHeaderWithLineBreakIsRefused() {
        #expect(throws: GatewayError.self) { try CustomHostPolicy().validate("http://127.0.0.1:9/v1\r\nX-Smuggled: 1") }
        #expect(throws: GatewayError.self) { try CustomHostPolicy().validate("http://127.0.0.1:9/v1 HTTP/1.1") }
    }

    @Test func upstreamRequestWireProblems() {
        let url = UpstreamURL("http://127.0.0.1:9/v1/chat")!
        #expect(UpstreamRequest(method: .POST, url: url, headers: ["a": "b"], body: nil).wireProblem == nil)
        var bad = url
        bad.target = "/v1\r\nX-Smuggled: 1"
        #expect(UpstreamRequest(method: .POST, url: bad, headers: [:], body: nil).wireProblem != nil)
        #expect(UpstreamRequest(method: .POST, url: url, headers: ["a": "b\r\nSet-Cookie: x"], body: nil).wireProblem != nil)
        #expect(UpstreamRequest(method: .RAW(value: "GET /x"), url: url, headers: [:], body: nil).wireProblem != nil)
    }
}
