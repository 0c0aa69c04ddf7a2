import FoundationEssentials
import LuaRuntime
import Logging
import NIOCore
import NIOHTTP1

extension Gateway {
    /// Largest answer `gw.fetch` collects for a script, complete or streamed.
    static let maxFetchBytes = 8 * 1024 * 1024

    /// Runs a scripted route: the handler's `gw.route` / `gw.fetch` calls are performed here,
    /// asynchronously, and the handler resumed with each result.
    func runScripted(_ info: ScriptedRouteInfo, generation: ScriptGeneration, request: IncomingRequest,
                     options: RequestOptions) async throws(GatewayError) -> GatewayResponse {
        var run: ScriptedRouteRun
        var step: ScriptedRouteRun.Step
        do {
            (run, step) = try ScriptedRouteRun.start(
                generation, route: info, method: request.method.rawValue, path: "/v1" + request.path, query: request.query,
                headers: request.headers.map { ($0.name.asciiLowercased(), $0.value) },
                body: request.body.map { Array($0.readableBytesView) })
        } catch {
            logger.error("scripted route failed", metadata: ["route": "\(info.key)", "error": "\(error.message)"])
            throw .script(error)
        }
        var calls = 0
        while true {
            switch step {
            case .done(let status, let headers, let body):
                return GatewayResponse(status: status, headers: HTTPHeaders(headers), body: .buffer(ByteBuffer(bytes: body)))
            case .call(let kind, let requestJSON):
                calls += 1
                guard calls <= 64 else {
                    throw GatewayError(status: 500, type: .script, message: "\(info.file): more than 64 calls in one request",
                                       code: .scriptError)
                }
                let result = await perform(kind, requestJSON, options: options, generation: generation)
                do {
                    step = try run.resume(with: Array(result.utf8))
                } catch {
                    logger.error("scripted route failed", metadata: ["route": "\(info.key)", "error": "\(error.message)"])
                    throw .script(error)
                }
            }
        }
    }

    /// One call or a list of calls (performed concurrently); the result as JSON text.
    func perform(_ kind: String, _ json: [UInt8], options: RequestOptions, generation: ScriptGeneration) async -> String {
        guard let value = JSONTree.parse(json) else {
            return #"{"status":0,"error":{"message":"the call could not be read"}}"#
        }
        if case .array(let list) = value {
            let results = await withTaskGroup(of: (Int, String).self) { group in
                for (index, item) in list.enumerated() {
                    group.addTask { (index, await self.performOne(kind, item, options: options, generation: generation)) }
                }
                var results = [String](repeating: "", count: list.count)
                for await (index, result) in group { results[index] = result }
                return results
            }
            return "[" + results.joined(separator: ",") + "]"
        }
        return await performOne(kind, value, options: options, generation: generation)
    }

    /// `generation` is the request's: its `gw.route` calls run on the scripts it started with.
    private func performOne(_ kind: String, _ call: JSONTree, options: RequestOptions, generation: ScriptGeneration) async -> String {
        let started = ContinuousClock.now
        func elapsed() -> String { String((ContinuousClock.now - started).milliseconds) }
        func failure(_ status: Int, _ message: String, _ code: String) -> String {
            #"{"status":\#(status),"latency_ms":\#(elapsed()),"error":{"message":\#(JSONText.quote(message)),"code":\#(JSONText.quote(code))}}"#
        }
        var headers = HTTPHeaders()
        for member in call["headers"]?.members ?? [] {
            if let text = member.value.text { headers.add(name: member.key, value: text) }
        }
        let methodText = call["method"]?.text ?? "POST"
        // What the handler asks for goes onto the wire (upstream, or through a route): check it once here.
        if let problem = headers.lazy.compactMap({ WireSyntax.headerProblem(name: $0.name, value: $0.value) }).first
            ?? WireSyntax.methodProblem(methodText)
            ?? (call["path"]?.text).flatMap({ WireSyntax.targetProblem($0) })
            ?? (call["query"]?.text).flatMap({ WireSyntax.targetProblem($0) }) {
            return failure(0, "the \(kind) call cannot be sent: \(problem)", "invalid_call")
        }
        let method = HTTPMethod(rawValue: methodText)
        let bodyBytes: ByteBuffer? = {
            switch call["body"] {
            case .string(let text)?: return ByteBuffer(string: text)
            case .none, .null?: return nil
            case let value?: return ByteBuffer(string: value.jsonText)
            }
        }()
        let response: GatewayResponse
        switch kind {
        case "route":
            var path = call["path"]?.text ?? "/chat/completions"
            if path.hasPrefix("/v1/") { path = String(path.dropFirst(3)) }
            let endpoint = Endpoint(rawValue: String(path.dropFirst())) ?? .passthrough
            if !headers.contains(name: "content-type") && bodyBytes != nil { headers.add(name: "content-type", value: "application/json") }
            do throws(GatewayError) {
                let routeOptions = try scriptOptions(headers, traceID: options.traceID, record: nil)
                let incoming = IncomingRequest(endpoint: endpoint, method: method, path: path, query: call["query"]?.text ?? "",
                                               headers: headers, body: bodyBytes)
                response = try await route(incoming, context: RequestContext(
                    gateway: self, options: routeOptions, generation: generation, dialect: ClientDialect(incoming.endpoint)))
            } catch {
                return #"{"status":\#(error.status),"latency_ms":\#(elapsed()),"error":{"message":\#(JSONText.quote(error.message)),"type":\#(JSONText.quote(error.type.rawValue)),"code":\#(error.code.map { JSONText.quote($0.rawValue) } ?? "null")}}"#
            }
        case "fetch":
            guard let text = call["url"]?.text, let url = UpstreamURL(text) else { return failure(0, "fetch needs an http(s) url", "invalid_url") }
            guard settings.hostPolicy.allowedHosts.contains(url.host.lowercased()) else {
                return failure(0, "host '\(url.host)' is not allow-listed for scripts (--allow-host)", "host_not_allowed")
            }
            do {
                let upstreamResponse = try await upstream.execute(
                    UpstreamRequest(method: method, url: url, headers: headers, body: bodyBytes),
                    deadline: .now() + .seconds(30), maxBodyBytes: Self.maxFetchBytes)
                switch upstreamResponse {
                case .complete(let head, let body):
                    response = GatewayResponse(status: head.status, headers: head.headers, body: .buffer(body))
                case .stream(let head, let stream):
                    response = GatewayResponse(status: head.status, headers: head.headers, body: .stream(stream))
                }
            } catch {
                return failure(0, "fetch failed: \(error)", "fetch_failed")
            }
        default:
            return failure(0, "unknown call '\(kind)'", "unknown_call")
        }
        // Streams are collected: a handler gets complete answers, within the same bound as a
        // complete answer (an endless stream must not grow the gateway's memory without bound).
        var body = ByteBuffer()
        let limit = kind == "fetch" ? Self.maxFetchBytes : settings.maxResponseBodyBytes
        switch response.body {
        case .buffer(let buffer): body = buffer
        case .stream(let stream):
            do {
                for try await var chunk in stream {
                    guard body.readableBytes + chunk.readableBytes <= limit else {
                        return failure(502, "the answer's stream is larger than \(limit) bytes", "response_too_large")
                    }
                    body.writeBuffer(&chunk)
                }
            } catch {
                return failure(502, "the answer's stream broke: \(error)", "upstream_error")
            }
        }
        var headerFields: [String] = []
        for (name, value) in response.headers { headerFields.append(JSONText.quote(name.lowercased()) + ":" + JSONText.quote(value)) }
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        let isJSON = JSONTree.parse(body) != nil
        return #"{"status":\#(response.status),"latency_ms":\#(elapsed()),"headers":{\#(headerFields.joined(separator: ","))},"#
            + (isJSON ? #""body":\#(text)}"# : #""text":\#(JSONText.quote(text))}"#)
    }
}
