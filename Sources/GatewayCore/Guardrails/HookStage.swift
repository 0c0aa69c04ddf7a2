import FoundationEssentials
import LuaRuntime
import NIOCore
import NIOHTTP1
import Tracing

/// Portkey's hooks around one routed attempt: the target's before-request hooks (and the
/// `x-portkey-default-input-guardrails`) on the request, its after-request hooks (and the default
/// output guardrails) on a 200 answer. Each hook runs its checks through the Lua runner
/// (`plugins/lib/hooks.lua`) and the check plugins in `plugins/`.
///
/// - A denied hook (a failed verdict with `deny`) answers 446 with `hook_results`; a before-request
///   denial is never retried (the same request would be denied again), an after-request one is
///   when 446 is in `retry.on_status_codes` ("retry until the output passes").
/// - A failed hook without `deny` turns a 200 into 246; `hook_results` is added to every JSON
///   answer when a synchronous hook ran.
/// - Mutators rewrite the request before it is sent, or the answer before the client sees it.
/// - A stream's after-request hooks run on the answer rebuilt from the whole stream; the last event
///   is held until they pass, and a denial ends the stream with an error event instead. With an
///   answer mutator the whole stream is held, and a rewritten answer is sent as a stream rebuilt
///   from it (``CacheReplay``), so a mutation is never lost.
/// - `async` hooks run after the answer without holding it; their verdicts reach the metrics only.
struct HookStage: RequestStage {
    func passes(_ request: IncomingRequest, context: RequestContext) -> Bool {
        let options = context.options
        // A config target always carries its (possibly empty) hooks: empty is none.
        return ((context.hooks?.isEmpty ?? true) && options.defaultInputGuardrails == nil && options.defaultOutputGuardrails == nil)
            || (HookRun.requestType(request.endpoint) == nil && !HookRun.refusesHooks(request.endpoint))
    }

    nonisolated(nonsending) func handle(_ request: IncomingRequest, context: RequestContext, next: StageChain.Next) async throws(GatewayError)
        -> GatewayResponse
    {
        let options = context.options
        guard !passes(request, context: context), let requestType = HookRun.requestType(request.endpoint) else {
            if HookRun.refusesHooks(request.endpoint) && !passes(request, context: context) {
                // Guardrails read text the hooks know how to find (chat, completions, messages,
                // responses, embeddings); an image, an audio file or a batch would pass unchecked.
                throw GatewayError(status: 400, type: .invalidRequest,
                                   message: "guardrails (hooks, x-portkey-default-input/output-guardrails) are not applied to /v1/\(request.endpoint.rawValue); send this request without them",
                                   code: .invalidConfig)
            }
            return try await next(request, context)
        }
        let plugins = context.generation.plugins
        var before = context.hooks?.before ?? []
        var after = context.hooks?.after ?? []
        if let header = options.defaultInputGuardrails {
            before += try HookParser.header(header, name: "x-portkey-default-input-guardrails", event: .beforeRequest, plugins: plugins)
        }
        if let header = options.defaultOutputGuardrails {
            after += try HookParser.header(header, name: "x-portkey-default-output-guardrails", event: .afterRequest, plugins: plugins)
        }
        if request.endpoint == .embeddings { after = [] }  // embeddings get before-request hooks only
        guard !before.isEmpty || !after.isEmpty else { return try await next(request, context) }
        for hook in before + after {
            if let missing = hook.checkIDs.first(where: { plugins[$0] == nil }) {
                // A named config checked against plugins that have since been removed.
                throw GatewayError(status: 400, type: .invalidRequest,
                                   message: "invalid x-portkey-config: hook '\(hook.id)' names the check '\(missing)', which is no longer loaded",
                                   param: "x-portkey-config", code: .invalidConfig)
            }
        }
        var run = try HookRun(request: request, context: context, requestType: requestType)

        // Before the request.
        var request = request
        var results = HookResults()
        if try await run.runAll(before, event: .beforeRequest, into: &results) {
            request.body = ByteBuffer(bytes: run.requestBody)
        }
        if results.denied {
            var response = results.denial(dialect: context.dialect)
            response.deniedBeforeRequest = true
            return response
        }

        var response = try await next(request, context)
        guard response.status == 200 else { return response }
        switch response.body {
        case .buffer(let body):
            if !after.isEmpty {
                run.responseBody = HookRun.objectBytes(body)
                let rewritten = try await run.runAll(after, event: .afterRequest, into: &results)
                if results.denied { return results.denial(dialect: context.dialect) }
                if rewritten { response.body = .buffer(ByteBuffer(bytes: run.responseBody)) }
            }
            guard !results.isEmpty else { return response }
            if results.failed { response.status = 246 }
            if case .buffer(let body) = response.body, let with = results.added(to: body) {
                response.body = .buffer(with)
                response.headers.remove(name: "content-length")
            }
            return response
        case .stream(let stream):
            if results.failed { response.status = 246 }
            guard !after.isEmpty || (!results.isEmpty && !options.strictOpenAICompliance) else {
                return response
            }
            guard request.endpoint != .responses else {
                throw GatewayError(status: 400, type: .invalidRequest,
                                   message: "output hooks on a streamed /v1/responses answer are not supported; send stream: false, or use them on chat completions or messages",
                                   param: "stream", code: .invalidConfig)
            }
            response.body = .stream(HookedStream(base: stream, run: run, hooks: after, results: results,
                                                 announce: !options.strictOpenAICompliance))
            return response
        }
    }
}

/// The `hook_results` of one attempt, and what they decided.
struct HookResults: Sendable {
    var before: [JSONTree] = []
    var after: [JSONTree] = []
    var failed = false
    var denied = false

    var isEmpty: Bool { before.isEmpty && after.isEmpty }

    var json: JSONTree {
        .object(pairs: ["before_request_hooks": .array(before), "after_request_hooks": .array(after)])
    }

    private static let key = Array(#""hook_results""#.utf8)

    /// Whether `needle` occurs in `bytes` (a plain loop: the standard library's generic
    /// `firstRange(of:)` allocated on every step, ~460 mallocs for a 1 KB answer).
    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, bytes.count >= needle.count else { return false }
        var index = 0
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == first && bytes[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    static let deniedMessage = "The guardrail checks defined in the config failed. You can find more information in the `hook_results` object."

    /// 446 with the error in the client's shape and `hook_results` beside it.
    func denial(dialect: ClientDialect) -> GatewayResponse {
        let error = GatewayError(status: 446, type: "hooks_failed", message: Self.deniedMessage)
        let body = ByteBuffer(bytes: dialect.errorBody(error))
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        return GatewayResponse(status: 446, headers: headers, body: .buffer(added(to: body) ?? body))
    }

    /// The body with `hook_results` as its last member; nil when it is not a JSON object.
    func added(to body: ByteBuffer) -> ByteBuffer? {
        let bytes = Array(body.readableBytesView)  // one copy; ByteBufferView slices were written byte by byte
        if (try? JSONScan.scan(bytes))?.isObject == true, !Self.contains(bytes, Self.key),
           let close = bytes.lastIndex(where: { !Self.isSpace($0) }), bytes[close] == UInt8(ascii: "}") {
            // A valid object without the key: the member goes in before its closing brace, the
            // answer's own bytes untouched.
            let before = bytes[..<close].lastIndex(where: { !Self.isSpace($0) })
            var out = ByteBuffer()
            out.reserveCapacity(bytes.count + 1024)
            out.writeBytes(bytes[..<close])
            if let before, bytes[before] != UInt8(ascii: "{") { out.writeStaticString(",") }
            out.writeStaticString(#""hook_results":"#)
            out.writeBytes(json.bytes())
            out.writeStaticString("}")
            return out
        }
        guard case .object(var members)? = JSONTree.parse(body) else { return nil }
        members.removeAll { $0.key == "hook_results" }
        members.append(.init(key: "hook_results", value: json))
        return ByteBuffer(bytes: JSONTree.object(members).bytes())
    }
}

/// What one attempt's hooks see: the request (as JSON, rewritten by mutators as they run), the
/// answer once there is one, and who the attempt is for.
struct HookRun: Sendable {
    let gateway: Gateway
    let options: RequestOptions
    let generation: ScriptGeneration
    let metrics: GatewayMetrics
    let record: RequestRecord?
    let endpoint: Endpoint
    let provider: String?
    let metadata: JSONTree
    let headers: JSONTree
    let isStreaming: Bool
    let model: String?
    /// The request body (JSON text), as mutators left it.
    var requestBody: [UInt8]
    /// The answer (JSON text; `null` when it is not a JSON object), for after-request hooks.
    var responseBody: [UInt8] = HookRun.null

    struct Outcome {
        var verdict: Bool
        var entry: JSONTree
        var requestJSON: JSONTree?
        var responseJSON: JSONTree?
    }

    /// Portkey's request types for the endpoints hooks apply to; nil for the others (models,
    /// token counts, passthrough paths), which hooks leave alone.
    /// Endpoints a configured hook is refused on instead of left unrun: their bodies carry no text
    /// the checks read. Models, token counts and passthrough paths are left alone, as in Portkey.
    static func refusesHooks(_ endpoint: Endpoint) -> Bool {
        switch endpoint {
        case .chatCompletions, .completions, .messages, .responses, .embeddings, .models, .countTokens, .passthrough: false
        case .imageGenerations, .imageEdits, .imageVariations, .speech, .transcriptions, .translations, .rerank,
             .moderations, .files, .batches, .realtime: true
        }
    }

    static func requestType(_ endpoint: Endpoint) -> String? {
        switch endpoint {
        case .chatCompletions: "chatComplete"
        case .completions: "complete"
        case .messages: "messages"
        case .responses: "responses"
        case .embeddings: "embed"
        case .models, .countTokens, .passthrough, .imageGenerations, .imageEdits, .imageVariations, .speech, .transcriptions, .translations, .rerank, .moderations, .files, .batches, .realtime: nil
        }
    }

    init(request: IncomingRequest, context: RequestContext, requestType: String) throws(GatewayError) {
        gateway = context.gateway
        options = context.options
        generation = context.generation
        metrics = context.gateway.observer.metrics
        record = context.options.record
        endpoint = request.endpoint
        provider = context.options.provider
        // Scanned, not parsed: the body goes to the runner as the bytes it is (a tree is built only
        // for a mutator's rewrite).
        guard let body = request.body, let scan = body.withUnsafeReadableBytes({ try? JSONScan.scan($0) }), scan.isObject else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "guardrail hooks read the request as JSON, and its body is not a JSON object", code: .invalidJson)
        }
        requestBody = Array(body.readableBytesView)
        model = scan.model
        isStreaming = scan.stream == true
        if let text = context.options.metadata, let value = JSONTree.parse(Array(text.utf8)), case .object = value {
            metadata = value
        } else {
            metadata = .object([])
        }
        var members: [JSONTree.Member] = []
        for (name, value) in request.headers { members.append(.init(key: name.lowercased(), value: .string(value))) }
        headers = .object(members)
    }

    /// A body's bytes when it is a JSON object, else `null` (what after-request checks then see).
    static func objectBytes(_ body: ByteBuffer) -> [UInt8] {
        guard body.withUnsafeReadableBytes({ try? JSONScan.scan($0) })?.isObject == true else { return null }
        return Array(body.readableBytesView)
    }

    static let null = Array("null".utf8)

    /// Runs `hooks` for `event` in order — the synchronous ones into `results` (a mutator's rewrite
    /// becomes the body the next hook sees), the `async` ones detached — and says whether the
    /// request (before) or the answer (after) was rewritten.
    nonisolated(nonsending) mutating func runAll(_ hooks: [Hook], event: Hook.Event, into results: inout HookResults)
        async throws(GatewayError) -> Bool
    {
        var rewritten = false
        for hook in hooks where !hook.async {
            let outcome = try await run(hook, event: event)
            if event == .beforeRequest { results.before.append(outcome.entry) } else { results.after.append(outcome.entry) }
            if let body = outcome.requestJSON ?? outcome.responseJSON {
                if event == .beforeRequest { requestBody = body.bytes() } else { responseBody = body.bytes() }
                rewritten = true
            }
            if !outcome.verdict { results.failed = true }
            if !outcome.verdict && hook.deny { results.denied = true }
        }
        detach(hooks.filter(\.async), event: event)
        return rewritten
    }

    /// Most `gw.fetch` calls the checks of one hook may make (a webhook check makes one).
    static let maxCalls = 16

    /// Runs one hook through the runner; a check's `gw.fetch` (the webhook check) is performed here
    /// without blocking, to an allow-listed host only, and the runner resumed with its answer.
    nonisolated(nonsending) mutating func run(_ hook: Hook, event: Hook.Event) async throws(GatewayError) -> Outcome {
        var small: KeyValuePairs<String, JSONTree?> = [:]
        small = [
            "event": .string(event.rawValue), "endpoint": .string(endpoint.rawValue), "provider": provider.map(JSONTree.string),
            "model": model.map(JSONTree.string), "metadata": metadata, "request_headers": headers,
            "is_streaming": .bool(isStreaming), "response_status": event == .afterRequest ? .number("200") : nil,
        ]
        // The bodies are spliced in as the JSON text they are (no tree, no second serialization).
        var parts = JSONTree.object(pairs: small).bytes()
        parts.removeLast()  // the closing brace; the object has members, so a comma follows
        parts += Array(#","request_json":"#.utf8) + requestBody
        if event == .afterRequest { parts += Array(#","response_json":"#.utf8) + responseBody }
        parts.append(UInt8(ascii: "}"))
        var output: [UInt8] = []
        do throws(LuaError) {
            let (scriptRun, first) = try HookScriptRun.start(generation, hook: hook.json, parts: parts)
            var step = first
            var calls = 0
            while case .call(let kind, let request) = step {
                calls += 1
                let result: String
                if kind != "fetch" {
                    result = #"{"status":0,"error":{"message":"a check may only call gw.fetch","code":"unknown_call"}}"#
                } else if calls > Self.maxCalls {
                    result = #"{"status":0,"error":{"message":"more than 16 calls in one hook","code":"too_many_calls"}}"#
                } else {
                    result = await gateway.perform(kind, request, options: options, generation: generation)
                }
                step = try scriptRun.resume(with: Array(result.utf8))
            }
            if case .done(let result) = step { output = result }
        } catch {
            metrics.scriptFailed(kind: "plugin")
            throw GatewayError(status: 500, type: .script, message: "guardrail hook '\(hook.id)': \(error.message)",
                               code: .scriptError)
        }
        guard let result = JSONTree.parse(output), let fields = result.fields, let verdict = fields["verdict"]?.bool else {
            throw GatewayError(status: 500, type: .script,
                               message: "guardrail hook '\(hook.id)': plugins/lib/hooks.lua returned no boolean verdict", code: .scriptError)
        }
        for check in fields["checks"]?.array ?? [] {
            guard let id = check["id"]?.string else { continue }
            let passed = check["verdict"]?.bool ?? false
            let kind = check["error"].map { $0 == .null } == false ? "error" : (passed ? "pass" : "fail")
            metrics.guardrailCheck(check: generation.plugins[id] != nil ? id : "unknown", verdict: kind,
                                   milliseconds: check["execution_time"]?.double ?? 0)
        }
        record?.update { $0.hooks.append((hook.id, verdict)) }
        record?.trace?.event("guardrail", ["switchboard.hook.id": .string(hook.id), "switchboard.hook.verdict": .bool(verdict),
                                           "switchboard.hook.event": .string(event.rawValue)])
        var members = (result.members ?? []).filter { $0.key != "request_json" && $0.key != "response_json" }
        let feedback = (verdict ? hook.onSuccess : hook.onFail)?["feedback"] ?? .null
        members.removeAll { $0.key == "feedback" || $0.key == "created_at" }
        members.append(.init(key: "feedback", value: feedback))
        members.append(.init(key: "created_at", value: .string(Date.now.formatted(.iso8601))))
        let transformed = fields["transformed"]?.bool == true
        return Outcome(verdict: verdict, entry: .object(members),
                       requestJSON: transformed && event == .beforeRequest ? fields["request_json"].flatMap { $0 == .null ? nil : $0 } : nil,
                       responseJSON: transformed && event == .afterRequest ? fields["response_json"].flatMap { $0 == .null ? nil : $0 } : nil)
    }

    /// Runs `async` hooks off the request's path: their verdicts count in the metrics and nothing waits.
    func detach(_ hooks: [Hook], event: Hook.Event) {
        guard !hooks.isEmpty else { return }
        var copy = self
        Task.detached {
            for hook in hooks { _ = try? await copy.run(hook, event: event) }
        }
    }
}

/// A stream whose after-request hooks run on the answer rebuilt from it: every event goes through
/// as it comes except the last, which is held until the hooks pass; a denial (or a stream the
/// hooks cannot read) ends it with an error instead.
struct HookedStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: any AsyncSequence<ByteBuffer, any Error> & Sendable
    let run: HookRun
    let hooks: [Hook]
    let results: HookResults
    /// `x-portkey-strict-open-ai-compliance: false`: send `hook_results` as an event of its own.
    let announce: Bool

    func makeAsyncIterator() -> Iterator {
        Iterator(base: UncheckedIterator(base.makeAsyncIterator()), run: run, hooks: hooks, results: results, announce: announce)
    }

    struct Iterator: AsyncIteratorProtocol {
        let base: UncheckedIterator
        var run: HookRun
        let hooks: [Hook]
        var results: HookResults
        let announce: Bool
        var held: ByteBuffer?
        var accumulator: StreamAccumulator
        var finished = false
        var announced = false

        init(base: UncheckedIterator, run: HookRun, hooks: [Hook], results: HookResults, announce: Bool) {
            self.base = base
            self.run = run
            self.hooks = hooks
            self.results = results
            self.announce = announce
            accumulator = StreamAccumulator(endpoint: run.endpoint, maxBytes: 64 << 20)
        }

        mutating func next() async throws -> ByteBuffer? {
            if announce && !announced && !results.before.isEmpty && hooks.isEmpty {
                announced = true
                return event(results)
            }
            guard !finished else { return nil }
            let syncHooks = hooks.filter { !$0.async }
            if syncHooks.isEmpty {
                // Nothing to hold: only async hooks (or the announcement) ride on this stream.
                guard let chunk = try await base.next() else {
                    finished = true
                    return nil
                }
                accumulator.feed(chunk)
                return chunk
            }
            // An answer mutator may rewrite what was streamed: then nothing is sent until the hooks
            // ran, and the (rewritten) answer is sent as a stream rebuilt from it.
            let holdAll = syncHooks.contains { $0.kind == .mutator }
            var all: [ByteBuffer] = []
            while let chunk = try await base.next() {
                accumulator.feed(chunk)
                if holdAll {
                    all.append(chunk)
                    continue
                }
                if let previous = held {
                    held = chunk
                    return previous
                }
                held = chunk
            }
            finished = true
            guard let body = accumulator.finish(), HookRun.objectBytes(body) != HookRun.null else {
                throw GatewayError(status: 502, type: .upstream,
                                   message: "the output guardrails could not read the streamed answer (an unfinished or unknown stream), so it is not passed on",
                                   code: "hooks_failed")
            }
            run.responseBody = Array(body.readableBytesView)
            let rewritten = try await run.runAll(hooks, event: .afterRequest, into: &results)
            if results.denied {
                let ids = results.after.compactMap { $0["verdict"]?.bool == false ? $0["id"]?.string : nil }
                throw GatewayError(status: 446, type: "hooks_failed",
                                   message: "the answer was stopped by output guardrails (\(ids.joined(separator: ", "))); " + HookResults.deniedMessage,
                                   code: "hooks_failed")
            }
            var out = ByteBuffer()
            if announce { out.writeImmutableBuffer(event(results)) }
            if rewritten {
                let includeUsage = CacheReplay.includeUsage(request: ByteBuffer(bytes: run.requestBody))
                guard let events = CacheReplay.events(endpoint: run.endpoint, body: ByteBuffer(bytes: run.responseBody),
                                                      includeUsage: includeUsage) else {
                    throw GatewayError(status: 502, type: .upstream,
                                       message: "an output mutator rewrote the answer into something that cannot be sent as this stream",
                                       code: "hooks_failed")
                }
                for event in events { out.writeImmutableBuffer(event) }
            } else {
                for chunk in all { out.writeImmutableBuffer(chunk) }
                if let held { out.writeImmutableBuffer(held) }
            }
            return out.readableBytes > 0 ? out : nil
        }

        /// Portkey's `hook_results` event (sent when strict OpenAI compliance is off).
        private func event(_ results: HookResults) -> ByteBuffer {
            var out = ByteBuffer(string: "data: ")
            out.writeBytes(JSONTree.object(pairs: ["hook_results": results.json]).bytes())
            out.writeString("\n\n")
            return out
        }
    }
}
