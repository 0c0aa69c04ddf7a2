import FoundationEssentials
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import GatewayCore

/// The routing strategies run against scripted attempts: no sockets, no real time.
@Suite struct RouteExecutorTests {
    let providers: Set<String> = ["openai", "google", "anthropic"]

    /// Answers each attempt at a path from a script of statuses (the last one repeats); records
    /// the order of attempts and the requested sleeps.
    final class Script: Sendable {
        let statuses: [String: [Int]]
        let calls = Mutex<[String]>([])
        let sleeps = Mutex<[Duration]>([])
        let retryAfter: String?
        init(_ statuses: [String: [Int]], retryAfter: String? = nil) {
            self.statuses = statuses
            self.retryAfter = retryAfter
        }

        func answer(_ target: RouteConfig.Target) -> Result<GatewayResponse, GatewayError> {
            let n = calls.withLock { calls in
                calls.append(target.path)
                return calls.filter { $0 == target.path }.count
            }
            let list = statuses[target.path] ?? [200]
            let status = list[min(n, list.count) - 1]
            if status == 0 { return .failure(.upstreamUnreachable(provider: "p", host: "h", reason: "connection refused")) }
            var headers = HTTPHeaders()
            if let retryAfter { headers.add(name: "retry-after", value: retryAfter) }
            return .success(GatewayResponse(status: status, headers: headers, body: .buffer(ByteBuffer(string: "{}"))))
        }
    }

    func run(_ json: String, _ script: Script, random: @escaping @Sendable () -> Double = { 0.5 },
             input: JSONTree = .object([])) async throws -> RouteExecutor.Outcome {
        let config = try RouteConfig.parse(json, knownProviders: providers)
        let executor = RouteExecutor(attempt: { script.answer($0) }, sleep: { d in script.sleeps.withLock { $0.append(d) } },
                                     random: random, tuning: RetryTuning(base: .milliseconds(100), cap: .seconds(1)),
                                     conditionInput: input)
        return await executor.run(config.root)
    }

    @Test func retriesThenFallsBackAsPortkeysExampleSays() async throws {
        let script = Script(["config.targets[0]": [503], "config.targets[1]": [200]])
        let outcome = try await run("""
            {"retry": {"count": 5}, "strategy": {"mode": "fallback"},
             "targets": [{"provider": "openai"}, {"provider": "google", "override_params": {"model": "gemini-pro"}}]}
            """, script)
        #expect(outcome.succeeded && outcome.path == "config.targets[1]")
        // 1 attempt + 5 retries at the first target, then the second.
        #expect(script.calls.withLock { $0 } == Array(repeating: "config.targets[0]", count: 6) + ["config.targets[1]"])
        // Exponential backoff with full jitter (random 0.5): 50, 100, 200, 400, 500 (capped at 1 s × 0.5) ms.
        #expect(script.sleeps.withLock { $0 } == [.milliseconds(50), .milliseconds(100), .milliseconds(200),
                                                   .milliseconds(400), .milliseconds(500)])
    }

    @Test func retryThenSuccessCountsRetries() async throws {
        let script = Script(["config": [429, 500, 200]])
        let outcome = try await run(#"{"provider": "openai", "retry": {"attempts": 3}}"#, script)
        #expect(outcome.succeeded && outcome.retries == 2)
    }

    @Test func retryAfterIsHonouredWhenAskedAndBounded() async throws {
        let honoured = Script(["config": [429, 200]], retryAfter: "2")
        _ = try await run(#"{"provider": "openai", "retry": {"attempts": 1, "use_retry_after_header": true}}"#, honoured)
        #expect(honoured.sleeps.withLock { $0 } == [.seconds(2)])
        let bounded = Script(["config": [429, 200]], retryAfter: "3600")
        _ = try await run(#"{"provider": "openai", "retry": {"attempts": 1, "use_retry_after_header": true}}"#, bounded)
        #expect(bounded.sleeps.withLock { $0 } == [.seconds(30)])
    }

    @Test func fallbackStopsOnStatusesNotListed() async throws {
        let script = Script(["config.targets[0]": [400]])
        let outcome = try await run("""
            {"strategy": {"mode": "fallback", "on_status_codes": [429, 503]}, "targets": [{"provider": "openai"}, {"provider": "google"}]}
            """, script)
        #expect(outcome.status == 400 && outcome.path == "config.targets[0]")
        // A refused connection falls back whatever the codes say.
        let refused = Script(["config.targets[0]": [0]])
        let next = try await run("""
            {"strategy": {"mode": "fallback", "on_status_codes": [429]}, "targets": [{"provider": "openai"}, {"provider": "google"}]}
            """, refused)
        #expect(next.succeeded && next.path == "config.targets[1]")
    }

    @Test func everyFailureIsSummarized() async throws {
        let script = Script(["config.targets[0]": [503], "config.targets[1]": [0]])
        let outcome = try await run("""
            {"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai", "retry": {"attempts": 1}}, {"provider": "google"}]}
            """, script)
        #expect(outcome.log == ["config.targets[0] (openai): HTTP 503 after 1 retry",
                                "config.targets[1] (google): 502 upstream_unreachable"])
    }

    @Test func weightedLoadBalancingFollowsTheRandomDraw() async throws {
        let json = """
            {"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": "0.25"},
             {"provider": "google", "weight": 0}, {"provider": "anthropic", "weight": 0.75}]}
            """
        for (draw, expected) in [(0.0, "config.targets[0]"), (0.2499, "config.targets[0]"), (0.25, "config.targets[2]"),
                                 (0.9999, "config.targets[2]")] {
            let outcome = try await run(json, Script([:]), random: { draw })
            #expect(outcome.path == expected, "draw \(draw)")
        }
    }

    @Test func conditionalRoutingOnMetadataParamsAndDefault() async throws {
        let json = """
            {"strategy": {"mode": "conditional", "default": "base",
              "conditions": [{"query": {"$and": [{"metadata.tier": {"$in": ["pro", "team"]}}, {"params.max_tokens": {"$gte": 100}}]}, "then": "big"},
                             {"query": {"metadata.region": "eu", "url.pathname": {"$regex": "^/v1/chat"}}, "then": "eu"}]},
             "targets": [{"name": "big", "provider": "openai"}, {"name": "eu", "provider": "google"}, {"name": "base", "provider": "anthropic"}]}
            """
        func input(_ metadata: String, _ params: String) -> JSONTree {
            .object([.init(key: "metadata", value: JSONTree.parse(Array(metadata.utf8))!),
                     .init(key: "params", value: JSONTree.parse(Array(params.utf8))!),
                     .init(key: "url", value: .object([.init(key: "pathname", value: "/v1/chat/completions")]))])
        }
        #expect(try await run(json, Script([:]), input: input(#"{"tier":"pro"}"#, #"{"max_tokens":200}"#)).path == "config.targets[0]")
        #expect(try await run(json, Script([:]), input: input(#"{"tier":"pro"}"#, #"{"max_tokens":50}"#)).path == "config.targets[2]")
        #expect(try await run(json, Script([:]), input: input(#"{"region":"eu"}"#, "{}")).path == "config.targets[1]")
    }

    @Test func overrideParamsPatchOnlyTheirKeys() throws {
        let body = Array(#"{"model":"gpt-4", "temperature":1.0,"n":12345678901234567890,"messages":[{"a":"}"}]}"#.utf8)
        let patched = try #require(JSONObjectPatch.apply([("model", #""gemini-pro""#), ("top_p", "0.9")], to: body))
        // Untouched members keep their exact bytes (1.0, a 20-digit integer, a brace inside a string).
        #expect(String(decoding: patched, as: UTF8.self)
                == #"{"temperature":1.0,"n":12345678901234567890,"messages":[{"a":"}"}],"model":"gemini-pro","top_p":0.9}"#)
        #expect(JSONObjectPatch.apply([("a", "1")], to: Array("[1,2]".utf8)) == nil)
    }

    @Test func cooldownSkipsAFailingTargetThenProbesIt() async throws {
        let config = try RouteConfig.parse("""
            {"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}, {"provider": "google"}]}
            """, knownProviders: providers)
        let tracker = CooldownTracker(settings: CooldownSettings(failures: 2, period: .seconds(10)))
        let clock = Mutex(ContinuousClock.now)
        let healthy = Mutex(false)
        let calls = Mutex<[String]>([])
        var executor = RouteExecutor(
            attempt: { target in
                calls.withLock { $0.append(target.path) }
                let ok = target.path == "config.targets[1]" || healthy.withLock { $0 }
                return .success(GatewayResponse(status: ok ? 200 : 503, headers: HTTPHeaders(), body: .buffer(ByteBuffer())))
            },
            sleep: { _ in }, random: { 0.5 }, tuning: RetryTuning(), conditionInput: .object([]))
        executor.cooldown = tracker
        executor.now = { clock.withLock { $0 } }
        for _ in 0..<2 { _ = await executor.run(config.root) }  // two failures in a row at targets[0]
        calls.withLock { $0.removeAll() }
        let skipped = await executor.run(config.root)
        #expect(skipped.succeeded && calls.withLock { $0 } == ["config.targets[1]"])
        #expect(skipped.log.first == "config.targets[0] (openai): 503 cooling_down")
        // Past the period, one request probes it; it recovered, so it is used again.
        clock.withLock { $0 += .seconds(11) }
        healthy.withLock { $0 = true }
        calls.withLock { $0.removeAll() }
        let probe = await executor.run(config.root)
        #expect(probe.path == "config.targets[0]" && calls.withLock { $0 } == ["config.targets[0]"])
        #expect(!tracker.isCooling(CooldownTracker.key(config.root.targets[0]), now: clock.withLock { $0 }))
    }
}
