import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Turns a received request into a `Reply`: picks the endpoint, then applies fault controls.
///
/// Why one place: the order in which controls take effect (invalid → reset before → echo →
/// injected status → endpoint → malformed/reset mid) is part of the mock's contract with the
/// tests, and keeping it here keeps the endpoints ignorant of faults.
enum Router {
    static func reply(for request: MockRequest, allocator: ByteBufferAllocator) -> Reply {
        if let reply = RealtimeMock.httpReply(for: request, allocator: allocator) { return reply }  // RealtimeMock.swift
        let route = Route(method: request.head.method, path: request.path)
        if case .stats = route {
            let counters = ProcessCounters.shared
            return .json(allocator.buffer(
                string: #"{"requests":\#(counters.requestCount),"abandoned":\#(counters.abandonedCount)}"#))
        }
        if case .lastRequest = route {
            return .json(allocator.buffer(bytes: LastRequest.store.withLock { $0 }))
        }
        if case .storeFixture(let name) = route {
            do throws(APIError) {
                let fixture = try Fixture(json: Array(request.body.readableBytesView))
                Fixture.store.withLock { $0[name] = fixture }
                return .json(allocator.buffer(string: #"{"stored":true}"#))
            } catch {
                return Dialect.openAI.reply(for: error, format: .dialect, allocator: allocator)
            }
        }
        let number = ProcessCounters.shared.nextRequestNumber()
        var fixtureName = request.head.headers.first(name: "x-mock-fixture")
        if case .fixture(let name) = route { fixtureName = name }
        if let name = fixtureName {
            guard let fixture = Fixture.store.withLock({ $0[name] }) else {
                return Dialect.openAI.reply(for: .badRequest("no fixture named '\(name)'"), format: .dialect, allocator: allocator)
            }
            if case .fixture = route {} else { LastRequest.record(request) }
            var reply = fixture.reply(allocator: allocator)
            reply.headers.add(name: "x-mock-request-count", value: String(number))
            return reply
        }
        var controls = MockControls(headers: request.head.headers)

        var json: JSONBody?
        var parseError: APIError?
        if route.takesJSON || request.body.readableBytes > 0 {
            do throws(JSONScanner.Failure) {
                let body = try JSONBody(request.body)
                controls.apply(body: body)
                json = body
            } catch {
                // Echo accepts any body; only JSON endpoints reject unparsable ones.
                if route.takesJSON { parseError = .badRequest(error.message) }
            }
        }

        if controls.record { LastRequest.record(request) }
        var reply = decide(route, request, json, parseError, controls, number, allocator)
        reply.headers.add(name: "x-mock-request-count", value: String(number))
        if let retryAfter = controls.retryAfter {
            reply.headers.add(name: "retry-after", value: retryAfter)
        }
        reply.latency = .milliseconds(Int64(controls.latencyMs))
        if controls.intervalMs > 0 { reply.interval = .milliseconds(Int64(controls.intervalMs)) }  // else the endpoint's own pacing
        if controls.reset == .after { reply.closeAfter = true }
        return reply
    }

    private static func decide(
        _ route: Route,
        _ request: MockRequest,
        _ json: JSONBody?,
        _ parseError: APIError?,
        _ controls: MockControls,
        _ number: Int,
        _ allocator: ByteBufferAllocator
    ) -> Reply {
        let dialect = route.dialect
        func failure(_ error: APIError, format: MockControls.ErrorFormat = controls.errorFormat) -> Reply {
            applyCut(to: dialect.reply(for: error, format: format, allocator: allocator), controls)
        }

        if let invalid = controls.invalid {
            return failure(.badRequest(invalid), format: .dialect)
        }
        if controls.reset == .before {
            return .dropConnection
        }
        if controls.echo {
            return applyCut(to: Echo.reply(for: request, allocator: allocator), controls)
        }
        if let size = controls.bodyBytes {
            return sizedReply(size, chunked: controls.bodyChunked, allocator: allocator)
        }
        if let failFirst = controls.failFirst {
            if ProcessCounters.shared.nextAttempt(forKey: controls.key) <= failFirst {
                return failure(.injected(max(controls.status ?? 500, 400)))
            }
        } else if let status = controls.status, status >= 400 {
            return failure(.injected(status))
        }
        if let parseError {
            return failure(parseError, format: .dialect)
        }

        let outcome: Outcome
        do throws(APIError) {
            outcome = try run(route, request, json, controls, number, allocator)
        } catch {
            return failure(error, format: .dialect)
        }

        var reply: Reply
        switch outcome {
        case .reply(let finished):
            return applyCut(to: finished, controls)
        case .json(var body):
            if controls.malformed {
                body.moveWriterIndex(to: body.readerIndex + body.readableBytes / 2)
            }
            reply = applyCut(to: .json(body), controls)
        case .stream(var plan):
            if controls.malformed { plan.breakFirstContentEvent() }
            if controls.dropLast > 0 { plan.events.removeLast(min(controls.dropLast, plan.events.count)) }
            let chunks = plan.framed(allocator: allocator)
            reply =
                plan.framing == .serverSentEvents
                ? .eventStream(chunks)
                : Reply(status: .ok, contentType: "application/json", body: .stream(chunks))
            if controls.reset == .mid { reply.cutAfter = plan.midStreamCut }
        }
        if let status = controls.status, status < 400, controls.failFirst == nil {
            reply.status = APIError.status(status)
        }
        return reply
    }

    /// A valid `chat.completion` of exactly `size` bytes: its content is `x` repeated.
    private static func sizedReply(_ size: Int, chunked: Bool, allocator: ByteBufferAllocator) -> Reply {
        let prefix = #"{"id":"chatcmpl-big","object":"chat.completion","created":0,"model":"gpt-4","choices":[{"index":0,"message":{"role":"assistant","content":""#
        let suffix = #""},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#
        let padding = max(0, size - prefix.utf8.count - suffix.utf8.count)
        var body = allocator.buffer(capacity: prefix.utf8.count + padding + suffix.utf8.count)
        body.writeString(prefix)
        body.writeRepeatingByte(UInt8(ascii: "x"), count: padding)
        body.writeString(suffix)
        guard chunked else { return .json(body) }
        var pieces: [ByteBuffer] = []
        while body.readableBytes > 0 {
            pieces.append(body.readSlice(length: min(65536, body.readableBytes))!)
        }
        return Reply(status: .ok, contentType: "application/json", body: .stream(pieces))
    }

    /// For `reset: mid` on a complete body: send half of it, then close.
    private static func applyCut(to reply: Reply, _ controls: MockControls) -> Reply {
        guard controls.reset == .mid, case .full(let body) = reply.body else { return reply }
        var cut = reply
        cut.cutAfter = body.readableBytes / 2
        return cut
    }

    /// Calls the endpoint for `route`.
    private static func run(
        _ route: Route,
        _ request: MockRequest,
        _ json: JSONBody?,
        _ controls: MockControls,
        _ number: Int,
        _ allocator: ByteBufferAllocator
    ) throws(APIError) -> Outcome {
        switch route {
        case .listModels:
            return OpenAIModels.list(allocator)
        case .retrieveModel(let id):
            return OpenAIModels.retrieve(id, allocator)
        case .echo:
            return .reply(Echo.reply(for: request, allocator: allocator))
        case .extra(let extra):
            return try extra.run(request, json, controls, number, allocator)
        case .notFound:
            throw APIError(
                status: .notFound,
                message: "Unknown request URL: \(request.head.method.rawValue) \(request.path).",
                openAICode: "unknown_url"
            )
        case .methodNotAllowed:
            throw APIError(
                status: .methodNotAllowed,
                message: "Method \(request.head.method.rawValue) is not allowed on \(request.path).",
                openAICode: "method_not_allowed"
            )
        default:
            break
        }

        // Every remaining route takes a JSON body, which the caller has validated.
        guard let json else { throw .badRequest("The request body must be a JSON object.") }
        let context = RequestContext(
            request: request,
            json: json,
            controls: controls,
            number: number,
            allocator: allocator,
            created: Int(Date().timeIntervalSince1970),
            reply: ReplyText(controls: controls)
        )
        switch route {
        case .chatCompletions:
            return try OpenAIChat.respond(context)
        case .completions:
            return try OpenAICompletions.respond(context)
        case .embeddings:
            return try OpenAIEmbeddings.respond(context)
        case .messages:
            return try AnthropicMessages.respond(context)
        case .countMessageTokens:
            return AnthropicMessages.countTokens(context)
        case .responses:
            return try OpenAIResponses.respond(context)
        case .gemini(let model, .generate):
            return try GeminiGenerate.generate(context, model: model)
        case .gemini(let model, .stream):
            return try GeminiGenerate.stream(context, model: model, sse: request.queryHas("alt", "sse"))
        case .gemini(_, .countTokens):
            return try GeminiGenerate.countTokens(context)
        default:
            throw .badRequest("Unsupported route.")
        }
    }
}
