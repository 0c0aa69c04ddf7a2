import Foundation
import Logging
import LuaRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import GatewayCore

/// Per-key rate limits (issue 17): the in-process windows, the `limits` objects, and the access
/// stage that admits or refuses a request with OpenAI's 429 and `x-ratelimit-*` headers.
@Suite struct RateLimitTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        let seconds = Mutex<Double>(1000.25)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
        var read: @Sendable () -> Double { { self.seconds.withLock { $0 } } }
    }

    static func key(rpm: Int? = nil, tpm: Int? = nil) -> LimitedKey {
        LimitedKey(label: "gateway key 'team-a'", id: "gk:team-a", limits: KeyLimits(requestsPerMinute: rpm, tokensPerMinute: tpm))
    }

    @Test func requestsPerMinuteAdmitsExactlyTheLimitThenFreesSlotsAMinuteLater() {
        let clock = ManualClock()
        let store = LocalLimitStore(clock: clock.read)
        let key = Self.key(rpm: 3)
        var remaining: [Int] = []
        for _ in 0..<3 {
            let verdict = store.admit(key)
            #expect(verdict.admitted)
            remaining.append(verdict.requests?.remaining ?? -1)
            clock.advance(10)
        }
        #expect(remaining == [2, 1, 0])
        // At +30 s the window is full; its first request (at +0) leaves it at +60.
        let refused = store.admit(key)
        #expect(!refused.admitted)
        #expect(refused.requests?.remaining == 0)
        #expect(refused.retryAfter == 30)
        let error = refused.refusal(for: key)
        #expect(error.status == 429 && error.code == .rateLimitExceeded && error.type.rawValue == "requests")
        #expect(error.message.contains("gateway key 'team-a'") && error.message.contains("3 requests per minute"))
        #expect(error.headers.first { $0.0 == "retry-after" }?.1 == "30")
        // A refused request is not counted: 30 s later one slot is free, and only one.
        clock.advance(30)
        #expect(store.admit(key).admitted)
        #expect(!store.admit(key).admitted)
        // Another key has windows of its own.
        #expect(store.admit(LimitedKey(label: "other", id: "gk:other", limits: KeyLimits(requestsPerMinute: 1))).admitted)
    }

    @Test func tokensPerMinuteCountWhatFinishedRequestsUsed() {
        let clock = ManualClock()
        let store = LocalLimitStore(clock: clock.read)
        let key = Self.key(tpm: 1000)
        #expect(store.admit(key).tokens?.remaining == 1000)
        store.spend(key, tokens: 600)
        clock.advance(5)
        #expect(store.admit(key).tokens?.remaining == 400)
        store.spend(key, tokens: 500)  // a request admitted with room may overshoot: its usage is known only after
        clock.advance(5)
        let refused = store.admit(key)
        #expect(!refused.admitted && refused.tokens?.remaining == 0)
        #expect(refused.refusal(for: key).type.rawValue == "tokens")
        // The first 600 leave at +60 s from their second: 50 s from now.
        #expect(refused.retryAfter == 50)
        clock.advance(50)
        #expect(store.admit(key).admitted)
    }

    @Test func headersAreWrittenAsOpenAIWritesThem() {
        let verdict = LimitVerdict(admitted: true,
                                   requests: .init(limit: 600, remaining: 599, resetSeconds: 0.1, retryAfterSeconds: 0),
                                   tokens: .init(limit: 200_000, remaining: 150_000, resetSeconds: 362, retryAfterSeconds: 0))
        let headers = Dictionary(uniqueKeysWithValues: verdict.headers)
        #expect(headers["x-ratelimit-limit-requests"] == "600")
        #expect(headers["x-ratelimit-remaining-requests"] == "599")
        #expect(headers["x-ratelimit-reset-requests"] == "100ms")
        #expect(headers["x-ratelimit-limit-tokens"] == "200000")
        #expect(headers["x-ratelimit-remaining-tokens"] == "150000")
        #expect(headers["x-ratelimit-reset-tokens"] == "6m2s")
        #expect(LimitVerdict.duration(1) == "1s" && LimitVerdict.duration(59.2) == "1m0s" && LimitVerdict.duration(3723) == "1h2m3s")
    }

    @Test func limitsObjectsAreReadOrRefusedByName() throws {
        func parse(_ json: String) throws(KeyLimitsError) -> KeyLimits {
            try KeyLimits.parse(JSONTree.parse(Array(json.utf8))!, owner: "k")
        }
        #expect(try parse(#"{"requests_per_minute":600,"tokens_per_minute":200000}"#)
            == KeyLimits(requestsPerMinute: 600, tokensPerMinute: 200_000))
        for (json, says) in [(#"{"requests_per_hour":5}"#, "unknown limit 'requests_per_hour'"),
                             (#"{"requests_per_minute":0}"#, "whole number from 1"),
                             (#"{"requests_per_minute":1.5}"#, "whole number"),
                             (#"{"tokens_per_minute":"100"}"#, "whole number"),
                             (#"[600]"#, "must be an object")] {
            #expect(throws: KeyLimitsError.self, "\(json)") { try parse(json) }
            do { _ = try parse(json) } catch { #expect(error.message.contains(says), "\(json): \(error.message)") }
        }
    }

    @Test func gatewayKeyListsHoldKeysAndKeyObjects() throws {
        let parsed = try GatewayKeyList.parse(json: #"["plain-key", {"key":"sk-team-a","name":"team-a","limits":{"requests_per_minute":60}}, {"key":"sk-b"}]"#)
        #expect(parsed.keys == ["plain-key", "sk-team-a", "sk-b"])
        #expect(parsed.limited["sk-team-a"] == LimitedKey(label: "gateway key 'team-a'", id: "gk:team-a",
                                                         limits: KeyLimits(requestsPerMinute: 60)))
        #expect(parsed.limited.count == 1)
        for (json, says) in [(#"[{"key":"k","name":"n","quota":{"max_usd":1}}]"#, "unknown field 'quota'"),
                             (#"[{"key":"k","budget":{"max_usd":1,"period":"1d"}}]"#, "no 'name'"),
                             (#"[{"key":"k","limits":{"requests_per_minute":5}}]"#, "no 'name'"),
                             (#"[{"name":"n"}]"#, "has no 'key'"),
                             (#"[""]"#, "is empty"),
                             (#"[5]"#, "must be a string or an object"),
                             (#"{"key":"k"}"#, "expected a JSON list")] {
            do {
                _ = try GatewayKeyList.parse(json: json)
                Issue.record("\(json) was accepted")
            } catch {
                #expect(error.message.contains(says), "\(json): \(error.message)")
                #expect(!error.message.contains("\"k\""), "a key must not be echoed")
            }
        }
    }

    @Test func virtualKeysCarryLimits() throws {
        let keys = try VirtualKeys(json: #"{"prod":{"provider":"openai","api_key":"sk-x","limits":{"tokens_per_minute":5000}}}"#,
                                   knownProviders: ["openai"])
        #expect(keys.limitedKey("prod") == LimitedKey(label: "virtual key 'prod'", id: "vk:prod", limits: KeyLimits(tokensPerMinute: 5000)))
        #expect(throws: GatewayError.self) {
            try VirtualKeys(json: #"{"prod":{"provider":"openai","limits":{"rpm":5}}}"#, knownProviders: ["openai"])
        }
    }

    @Test func metadataLimitsNameEachValue() throws {
        let perUser = try MetadataLimits.parse(json: #"{"field":"_user","limits":{"requests_per_minute":60}}"#)
        #expect(try perUser.key(metadata: #"{"_user":"alice","team":"x"}"#)
            == LimitedKey(label: "_user 'alice'", id: "md:_user:alice", limits: KeyLimits(requestsPerMinute: 60)))
        #expect(try perUser.key(metadata: #"{"team":"x"}"#) == nil)
        #expect(try perUser.key(metadata: nil) == nil)
        #expect(throws: GatewayError.self) { try perUser.key(metadata: #"{"_user":["a"]}"#) }
        for (json, says) in [(#"{"field":"_user"}"#, "no 'limits'"), (#"{"limits":{"requests_per_minute":1}}"#, "no 'field'"),
                             (#"{"field":"_user","limits":{"requests_per_minute":1},"per":"ip"}"#, "unknown field 'per'")] {
            do {
                _ = try MetadataLimits.parse(json: json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.message.contains(says), "\(json): \(error.message)")
            }
        }
    }

    // MARK: Through the gateway

    static var completion: RecordedProvider.Answer { .complete([
        "status": 200,
        "body": ["id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
                 "choices": [["index": 0, "message": ["role": "assistant", "content": "hi"], "finish_reason": "stop"]],
                 "usage": ["prompt_tokens": 30, "completion_tokens": 20, "total_tokens": 50]],
    ]) }

    @Test func theAccessStageAdmitsRefusesAndChargesTokens() async throws {
        var settings = GatewaySettings()
        settings.gatewayKeys = ["sk-team-a"]
        settings.limitedGatewayKeys = ["sk-team-a": LimitedKey(label: "gateway key 'team-a'", id: "gk:team-a",
                                                                limits: KeyLimits(requestsPerMinute: 3, tokensPerMinute: 100))]
        let logger = Logger(label: "limits")
        let scripts = try ScriptHost(locations: .init(providers: GoldenFixtureTests.root.appendingPathComponent("providers").path, scripts: nil),
                                     limits: LuaLimits(), vmCount: 1, logger: logger, store: ScriptStore(maxBytes: 1 << 20))
        let gateway = Gateway(scripts: scripts, upstream: RecordedProvider(answer: Self.completion), settings: settings, logger: logger)
        var headers = HTTPHeaders([("x-portkey-provider", "openai"), ("x-portkey-api-key", "sk-team-a"),
                                   ("authorization", "Bearer sk-provider"), ("content-type", "application/json")])
        let request = IncomingRequest(endpoint: .chatCompletions, method: .POST, path: "/chat/completions", query: "", headers: headers,
                                      body: ByteBuffer(string: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#))
        func send() async throws -> (Int, HTTPHeaders) {
            var options = try RequestOptions.parse(headers, policy: gateway.settings.hostPolicy)
            let record = gateway.observer.makeRecord(method: "POST", route: "/v1/chat/completions", traceID: options.traceID, body: nil)
            options.record = record
            #expect(gateway.exchange(request, options: options, on: DirectExchangeTests.loop) == nil,
                    "a limited key must not take the direct path")
            do throws(GatewayError) {
                let response = try await gateway.handle(request, options: options)
                if case .buffer(let body) = response.body { record.observe(body: body) }
                gateway.observer.finished(record, status: response.status)
                return (response.status, response.headers)
            } catch {
                gateway.observer.finished(record, status: error.status)
                return (error.status, HTTPHeaders(error.headers))
            }
        }
        // 50 tokens per answer against 100 per minute: two answers fill the token window.
        let first = try await send()
        #expect(first.0 == 200)
        #expect(first.1.first(name: "x-ratelimit-limit-requests") == "3")
        #expect(first.1.first(name: "x-ratelimit-remaining-requests") == "2")
        #expect(first.1.first(name: "x-ratelimit-remaining-tokens") == "100")
        let second = try await send()
        #expect(second.0 == 200 && second.1.first(name: "x-ratelimit-remaining-tokens") == "50")
        let third = try await send()
        #expect(third.0 == 429, "the token window is full")
        #expect(third.1.first(name: "retry-after") != nil)
        #expect(third.1.first(name: "x-ratelimit-remaining-tokens") == "0")
        // An unknown key is refused before any window is touched.
        headers.replaceOrAdd(name: "x-portkey-api-key", value: "sk-wrong")
        #expect(try await send().0 == 401)
    }
}
