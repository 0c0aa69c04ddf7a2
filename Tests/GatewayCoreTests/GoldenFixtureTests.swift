import Foundation
import Logging
import LuaRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import GatewayCore

/// Provider translations as golden fixtures, one folder per provider × case under
/// `Tests/Fixtures/providers/<provider>/<case>/` (Kong's `spec/fixtures/ai-proxy` is the model):
///
/// - `request.json` — the client's request: `method`, `path` (with `/v1`), `headers`, `body`;
/// - `upstream_request.json` — what must reach the provider: `method`, `url`, `headers` (each named
///   one must match, `null` must be absent; others are not checked), `body` (JSON) or `body_text`. Absent: no upstream call
///   may happen (the gateway answers itself);
/// - `upstream_response.json` (`status`, `headers`, `body`) or `upstream_response.sse` (an event
///   stream, status 200): what the provider answers;
/// - `response.json` (`status`, `headers`, `body`) or `response.sse`: what the client must get.
///
/// A body that is not JSON is written as a string (`"body": "--boundary\r\n…"`, sent or compared
/// byte for byte as UTF-8), or as `body_base64` for bytes that are not text (audio); an expected
/// client answer that is not JSON is `body_text` or `body_base64` in `response.json`.
///
/// `GOLDEN_ROOT=<checkout>` runs another checkout's `providers/` and fixtures with this build (a
/// Lua-only change needs no rebuild).
///
/// In expected JSON, the string `"<any>"` matches any value (ids, timestamps, signatures). The
/// gateway runs its real stage chain and provider scripts (`providers/`); only the network is
/// replaced (``UpstreamTransport``). Adding a case is adding a folder. `GOLDEN_RECORD=1` writes the
/// expected files of a case that has none yet from what the gateway does (review them against the
/// provider's API reference before committing).
@Suite struct GoldenFixtureTests {
    static let root = ProcessInfo.processInfo.environment["GOLDEN_ROOT"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures/providers")

    static var cases: [String] {
        let manager = FileManager.default
        guard let providers = try? manager.contentsOfDirectory(atPath: fixtures.path) else { return [] }
        return providers.sorted().flatMap { provider in
            ((try? manager.contentsOfDirectory(atPath: fixtures.appendingPathComponent(provider).path)) ?? [])
                .sorted().map { "\(provider)/\($0)" }
        }
    }

    @Test func theMatrixIsThere() {
        // A runner that finds no cases would pass vacuously.
        #expect(Self.cases.count >= 10)
    }

    /// Every provider has a case for every endpoint its table declares (issue 19): a provider that
    /// gains an endpoint gains a case with it. `realtime` is a WebSocket, covered end to end
    /// (Tests/e2e/test_realtime.py), and `"*"` is not an endpoint.
    @Test func everyDeclaredEndpointHasACase() throws {
        let scripts = try ScriptHost(locations: .init(providers: Self.root.appendingPathComponent("providers").path, scripts: nil),
                                     limits: LuaLimits(), vmCount: 1, logger: Logger(label: "golden"),
                                     store: ScriptStore(maxBytes: 1 << 20))
        var covered: [String: Set<String>] = [:]
        for name in Self.cases {
            let provider = String(name.prefix { $0 != "/" })
            let request = try Self.object(at: Self.fixtures.appendingPathComponent(name).appendingPathComponent("request.json"))
            let path = (request["path"] as? String ?? "").split(separator: "?").first.map(String.init) ?? ""
            covered[provider, default: []].insert(Self.endpoint(of: path).rawValue)
        }
        var missing: [String] = []
        for (id, provider) in scripts.current.providers.sorted(by: { $0.key < $1.key }) {
            for endpoint in provider.endpoints.keys.sorted() where endpoint != "*" && endpoint != "realtime" {
                if covered[id]?.contains(endpoint) != true { missing.append("\(id): \(endpoint)") }
            }
        }
        #expect(missing.isEmpty, "no golden case under Tests/Fixtures/providers/<id>/ for: \(missing.joined(separator: ", "))")
    }

    @Test(arguments: cases) func golden(_ name: String) async throws {
        let folder = Self.fixtures.appendingPathComponent(name)
        func file(_ name: String) -> URL { folder.appendingPathComponent(name) }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }
        let record = ProcessInfo.processInfo.environment["GOLDEN_RECORD"] == "1"

        let request = try Self.object(at: file("request.json"))
        let answer: RecordedProvider.Answer
        if exists("upstream_response.sse") {
            answer = .stream(try Data(contentsOf: file("upstream_response.sse")))
        } else if exists("upstream_response.json") {
            answer = .complete(try Self.object(at: file("upstream_response.json")))
        } else {
            answer = .none
        }
        // Each case runs twice: through the stage chain in a task (Gateway.handle), and as the
        // direct exchange chained on an event loop (Gateway.exchange) that serves a request every
        // stage passes; both must meet the same expectations.
        for direct in [false, true] {
            let record = record && !direct
            let label = direct ? "\(name) (direct)" : name
            let provider = RecordedProvider(answer: answer)
            let (status, headers, bytes) = try await Self.run(request, through: provider, direct: direct)
            let body = String(decoding: bytes, as: UTF8.self)

            // What reached the provider.
            let sent = provider.sent.withLockedValue { $0 }
            if exists("upstream_request.json") {
                let expected = try Self.object(at: file("upstream_request.json"))
                let actual = try #require(sent.first, "\(label): no upstream request was made")
                #expect(sent.count == 1, "\(label): \(sent.count) upstream requests")
                #expect(actual.method.rawValue == expected["method"] as? String, "\(label): method")
                #expect(Self.matches((actual.url.origin + actual.url.target), expected["url"] as Any), "\(label): url \((actual.url.origin + actual.url.target))")
                for (header, value) in expected["headers"] as? [String: Any] ?? [:] {
                    let got = actual.headers.first(name: header)
                    if value is NSNull {
                        // null: the header must not be sent (a key the client did not give, say).
                        #expect(got == nil, "\(label): upstream header \(header) = \(got ?? ""), expected absent")
                    } else {
                        #expect(got != nil && Self.matches(got!, value), "\(label): upstream header \(header) = \(got ?? "absent")")
                    }
                }
                let bytes = actual.body.map { Data($0.readableBytesView) } ?? Data()
                if let text = expected["body_text"] as? String {
                    #expect(String(decoding: bytes, as: UTF8.self) == text, "\(label): upstream body bytes")
                } else if let body = expected["body"] {
                    let parsed = try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
                    #expect(Self.matches(parsed, body), "\(label): upstream body \(String(decoding: bytes, as: UTF8.self))")
                }
            } else if record, let actual = sent.first {
                try Self.write(Self.describe(actual), to: file("upstream_request.json"))
            } else {
                #expect(sent.isEmpty, "\(label): an upstream request was made where none may be")
            }

            // What the client got.
            if exists("response.sse") {
                let expected = String(decoding: try Data(contentsOf: file("response.sse")), as: UTF8.self)
                #expect(status == 200, "\(label): status \(status)")
                #expect(Self.streamMatches(body, expected), "\(label): stream\n\(body)")
            } else if exists("response.json") {
                let expected = try Self.object(at: file("response.json"))
                #expect(status == expected["status"] as? Int, "\(label): status \(status): \(body)")
                for (header, value) in expected["headers"] as? [String: Any] ?? [:] {
                    let got = headers.first(name: header)
                    #expect(got != nil && Self.matches(got!, value), "\(label): response header \(header) = \(got ?? "absent")")
                }
                if let text = expected["body_text"] as? String {
                    #expect(body == text, "\(label): body \(body)")
                } else if let base64 = expected["body_base64"] as? String {
                    #expect(Data(bytes).base64EncodedString() == base64, "\(label): body bytes")
                } else if let expectedBody = expected["body"] {
                    let parsed = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
                    #expect(parsed != nil && Self.matches(parsed!, expectedBody), "\(label): body \(body)")
                }
            } else if record {
                if headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true {
                    try Data(body.utf8).write(to: file("response.sse"))
                } else {
                    let parsed = try JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
                    try Self.write(["status": status, "body": parsed], to: file("response.json"))
                }
            } else {
                Issue.record("\(label): neither response.json nor response.sse")
            }
        }
    }

    // MARK: Running one case

    static func run(_ request: [String: Any], through provider: RecordedProvider, direct: Bool = false) async throws
        -> (Int, HTTPHeaders, [UInt8])
    {
        let logger = Logger(label: "golden")
        let scripts = try ScriptHost(locations: .init(providers: root.appendingPathComponent("providers").path, scripts: nil),
                                     limits: LuaLimits(), vmCount: 1, logger: logger, store: ScriptStore(maxBytes: 1 << 20))
        let gateway = Gateway(scripts: scripts, upstream: provider, settings: GatewaySettings(), logger: logger)
        var headers = HTTPHeaders()
        for (name, value) in request["headers"] as? [String: String] ?? [:] { headers.add(name: name, value: value) }
        let fullPath = request["path"] as? String ?? "/v1/chat/completions"
        let (path, query) = fullPath.split(separator: "?", maxSplits: 1).map(String.init).splitPair()
        let base64 = (request["body_base64"] as? String).flatMap { Data(base64Encoded: $0) }
        let body: ByteBuffer? = try base64.map { ByteBuffer(bytes: $0) } ?? request["body"].map { value in
            if let text = value as? String { return ByteBuffer(string: text) }
            return ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]))
        }
        // The client endpoints are named by their path after /v1/ (as the server's route table maps them).
        let endpoint = Self.endpoint(of: path)
        let incoming = IncomingRequest(endpoint: endpoint, method: HTTPMethod(rawValue: request["method"] as? String ?? "POST"),
                                       path: String(path.dropFirst(3)), query: query, headers: headers, body: body)
        do throws(GatewayError) {
            let options = try RequestOptions.parse(headers, policy: GatewaySettings().hostPolicy)
            let response: GatewayResponse
            if direct, let exchange = gateway.exchange(incoming, options: options, on: MultiThreadedEventLoopGroup.singleton.next()) {
                response = try await Self.answer(of: exchange)
            } else {
                response = try await gateway.handle(incoming, options: options)
            }
            switch response.body {
            case .buffer(let buffer):
                return (response.status, response.headers, Array(buffer.readableBytesView))
            case .stream(let stream):
                var bytes: [UInt8] = []
                do {
                    for try await chunk in stream { bytes += chunk.readableBytesView }
                } catch {
                    bytes += Array("<stream failed: \(error)>".utf8)
                }
                return (response.status, response.headers, bytes)
            }
        } catch {
            return (error.status, HTTPHeaders(), ClientDialect(endpoint).errorBody(error))
        }
    }

    /// The endpoint a path is, as the server's route table maps it: named endpoints by their path,
    /// the files and batches trees by prefix, anything else passthrough.
    static func endpoint(of path: String) -> Endpoint {
        let named = path.hasPrefix("/v1/") ? Endpoint(rawValue: String(path.dropFirst(4))) : nil
        return named.flatMap { $0 == .passthrough ? nil : $0 } ?? Endpoint.tree(containing: Substring(path)) ?? .passthrough
    }

    /// The direct exchange's answer; it fails only with a GatewayError.
    static func answer(of exchange: GatewayExchange) async throws(GatewayError) -> GatewayResponse {
        do {
            return try await exchange.answer.get()
        } catch {
            throw error as? GatewayError ?? GatewayError(status: 599, type: .server, message: "not a GatewayError: \(error)")
        }
    }

    // MARK: Comparing

    /// `actual` matches `expected`: equal JSON, where an expected `"<any>"` matches anything and
    /// objects must have the same keys.
    static func matches(_ actual: Any, _ expected: Any) -> Bool {
        if let text = expected as? String, text == "<any>" { return true }
        switch (actual, expected) {
        case (let a as [String: Any], let e as [String: Any]):
            return Set(a.keys) == Set(e.keys) && e.allSatisfy { key, value in matches(a[key]!, value) }
        case (let a as [Any], let e as [Any]):
            return a.count == e.count && zip(a, e).allSatisfy { matches($0, $1) }
        case (let a as NSNumber, let e as NSNumber):
            // true is not 1: a boolean ("c") only matches a boolean.
            let boolean = { (n: NSNumber) in String(cString: n.objCType) == "c" }
            return boolean(a) == boolean(e) && a == e
        case (let a as String, let e as String):
            return a == e
        case (is NSNull, is NSNull):
            return true
        default:
            return false
        }
    }

    /// The stream's events match the expected text's, event by event: same lines, and `data:`
    /// JSON compared with ``matches(_:_:)``.
    static func streamMatches(_ actual: String, _ expected: String) -> Bool {
        func events(_ text: String) -> [[String]] {
            text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n")
                .map { $0.split(separator: "\n").map(String.init) }.filter { !$0.isEmpty }
        }
        let (a, e) = (events(actual), events(expected))
        guard a.count == e.count else { return false }
        for (actualEvent, expectedEvent) in zip(a, e) {
            guard actualEvent.count == expectedEvent.count else { return false }
            for (line, want) in zip(actualEvent, expectedEvent) where line != want {
                guard line.hasPrefix("data: "), want.hasPrefix("data: "),
                      let got = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)),
                      let wanted = try? JSONSerialization.jsonObject(with: Data(want.dropFirst(6).utf8)),
                      matches(got, wanted) else { return false }
            }
        }
        return true
    }

    // MARK: Files

    static func object(at url: URL) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], "\(url.path) is not a JSON object")
    }

    static func write(_ object: [String: Any], to url: URL) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: url)
    }

    static func describe(_ request: UpstreamRequest) -> [String: Any] {
        var headers: [String: String] = [:]
        for (name, value) in request.headers { headers[name] = value }
        var out: [String: Any] = ["method": request.method.rawValue, "url": request.url.origin + request.url.target, "headers": headers]
        if let body = request.body {
            // JSON as `body`; anything else (a multipart form, CSV) byte for byte as `body_text`.
            if let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed]) {
                out["body"] = json
            } else {
                out["body_text"] = String(buffer: body)
            }
        }
        return out
    }
}

/// A provider that answers from a recording and keeps what it was sent.
final class RecordedProvider: UpstreamTransport, @unchecked Sendable {  // Answer holds JSON values; both fields are locked
    enum Answer {
        case complete([String: Any])
        case stream(Data)
        case none
    }

    let answer: NIOLockedValueBox<Answer>
    let sent = NIOLockedValueBox<[UpstreamRequest]>([])
    let readTimeout: TimeAmount = .seconds(10)

    init(answer: Answer) { self.answer = NIOLockedValueBox(answer) }

    nonisolated(nonsending) func execute(_ request: UpstreamRequest, deadline: NIODeadline?, maxBodyBytes: Int) async throws -> UpstreamResponse {
        sent.withLockedValue { $0.append(request) }
        switch answer.withLockedValue({ $0 }) {
        case .none:
            throw UpstreamError(.connect, "the fixture has no upstream answer, but the gateway called the provider")
        case .complete(let recorded):
            var headers = HTTPHeaders()
            for (name, value) in recorded["headers"] as? [String: String] ?? [:] { headers.add(name: name, value: value) }
            if !headers.contains(name: "content-type") { headers.add(name: "content-type", value: "application/json") }
            let body: ByteBuffer
            if let base64 = recorded["body_base64"] as? String, let bytes = Data(base64Encoded: base64) {
                body = ByteBuffer(bytes: bytes)
            } else if let text = recorded["body"] as? String {
                body = ByteBuffer(string: text)
            } else {
                body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: recorded["body"] ?? [:], options: [.fragmentsAllowed]))
            }
            return .complete(UpstreamHead(status: recorded["status"] as? Int ?? 200, headers: headers), body)
        case .stream(let data):
            let produced = NIOThrowingAsyncSequenceProducer.makeSequence(
                elementType: ByteBuffer.self, failureType: (any Error).self,
                backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(lowWatermark: 2, highWatermark: 8),
                finishOnDeinit: false, delegate: UpstreamStreamDelegate(resume: {}, terminated: {}))
            // Delivered in small pieces, as a network would: events cut across chunks.
            let bytes = [UInt8](data)
            var chunks: [ByteBuffer] = []
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + 37)
                chunks.append(ByteBuffer(bytes: bytes[start..<end]))
                start = end
            }
            _ = produced.source.yield(contentsOf: chunks)
            produced.source.finish()
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/event-stream")
            return .stream(UpstreamHead(status: 200, headers: headers), produced.sequence)
        }
    }
}

extension Array where Element == String {
    /// `[a, b]` as `(a, b)`, `[a]` as `(a, "")`.
    fileprivate func splitPair() -> (String, String) { (first ?? "", count > 1 ? self[1] : "") }
}
