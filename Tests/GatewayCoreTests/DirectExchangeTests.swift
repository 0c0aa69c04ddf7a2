import Foundation
import Logging
import LuaRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import GatewayCore

/// ``Gateway/exchange(_:options:on:)``: a request every stage passes is served as its one provider
/// call chained on an event loop; any stage that applies sends it down the full path (nil). The
/// golden fixtures run every case both ways; these check which requests take which path.
@Suite struct DirectExchangeTests {
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    static func gateway(_ provider: RecordedProvider, settings: GatewaySettings = GatewaySettings()) throws -> Gateway {
        let logger = Logger(label: "direct")
        let scripts = try ScriptHost(locations: .init(providers: GoldenFixtureTests.root.appendingPathComponent("providers").path, scripts: nil),
                                     limits: LuaLimits(), vmCount: 1, logger: logger, store: ScriptStore(maxBytes: 1 << 20))
        return Gateway(scripts: scripts, upstream: provider, settings: settings, logger: logger)
    }

    static func chat(_ extra: [(String, String)] = []) -> (IncomingRequest, HTTPHeaders) {
        var headers = HTTPHeaders([("content-type", "application/json"), ("x-portkey-provider", "openai"),
                                   ("authorization", "Bearer sk-test")])
        for (name, value) in extra { headers.add(name: name, value: value) }
        let body = ByteBuffer(string: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
        return (IncomingRequest(endpoint: .chatCompletions, method: .POST, path: "/chat/completions", query: "",
                                headers: headers, body: body), headers)
    }

    static var completion: RecordedProvider.Answer { .complete([
        "status": 200,
        "body": ["id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
                 "choices": [["index": 0, "message": ["role": "assistant", "content": "hello"], "finish_reason": "stop"]]],
    ]) }

    @Test func aPlainRequestIsServedDirectlyWithTheHeadersTheChainAdds() async throws {
        let provider = RecordedProvider(answer: Self.completion)
        let gateway = try Self.gateway(provider)
        let (request, headers) = Self.chat([("x-portkey-trace-id", "trace-direct")])
        let options = try RequestOptions.parse(headers, policy: gateway.settings.hostPolicy)
        let exchange = try #require(gateway.exchange(request, options: options, on: Self.loop))
        let response = try await GoldenFixtureTests.answer(of: exchange)
        #expect(response.status == 200)
        #expect(response.headers.first(name: "x-portkey-provider") == "openai")
        #expect(response.headers.first(name: "x-portkey-trace-id") == "trace-direct")
        #expect(response.headers.first(name: "x-portkey-cache-status") == "DISABLED")
        guard case .buffer(let body) = response.body else {
            Issue.record("expected a whole answer")
            return
        }
        #expect(String(buffer: body).contains("\"hello\""))
        let sent = provider.sent.withLockedValue { $0 }
        #expect(sent.count == 1)
        #expect(sent.first?.headers.first(name: "authorization") == "Bearer sk-test")
    }

    @Test(arguments: [
        ("x-portkey-config", #"{"retry":{"attempts":2}}"#),                    // routing: a config
        ("x-portkey-virtual-key", "team-a"),                                   // access: a virtual key
        ("x-portkey-default-input-guardrails", #"[{"default.contains":{"operator":"none","words":["x"]}}]"#),  // hooks
    ])
    func aRequestAStageAppliesToTakesTheFullPath(header: String, value: String) throws {
        let provider = RecordedProvider(answer: Self.completion)
        let gateway = try Self.gateway(provider)
        let (request, headers) = Self.chat([(header, value)])
        let options = try RequestOptions.parse(headers, policy: gateway.settings.hostPolicy)
        #expect(gateway.exchange(request, options: options, on: Self.loop) == nil, "\(header)")
        #expect(provider.sent.withLockedValue { $0 }.isEmpty, "\(header): nothing may be sent before the full path runs")
    }

    @Test func gatewayKeysTakeTheFullPath() throws {
        var settings = GatewaySettings()
        settings.gatewayKeys = ["gw-key"]
        let gateway = try Self.gateway(RecordedProvider(answer: Self.completion), settings: settings)
        let (request, headers) = Self.chat([("x-portkey-api-key", "gw-key")])
        let options = try RequestOptions.parse(headers, policy: gateway.settings.hostPolicy)
        #expect(gateway.exchange(request, options: options, on: Self.loop) == nil)
    }

    @Test func failuresArriveAsTheClientsErrors() async throws {
        // Planning fails at once (an unknown provider), the upstream later (nothing answers).
        let gateway = try Self.gateway(RecordedProvider(answer: .none))
        let (request, headers) = Self.chat()
        var unknown = headers
        unknown.replaceOrAdd(name: "x-portkey-provider", value: "no-such-provider")
        for (headers, status) in [(unknown, 400), (headers, 502)] {
            let options = try RequestOptions.parse(headers, policy: gateway.settings.hostPolicy)
            let exchange = try #require(gateway.exchange(request, options: options, on: Self.loop))
            var thrown: GatewayError?
            do throws(GatewayError) {
                _ = try await GoldenFixtureTests.answer(of: exchange)
            } catch {
                thrown = error
            }
            #expect(thrown?.status == status, "\(thrown.map { "\($0.status) \($0.message)" } ?? "no error")")
        }
    }
}
