// Invariants of the gateway's parsers, checked on arbitrary input. Shared by the libFuzzer targets
// (bench/fuzz compiles this file into them, with bench/fuzz-targets/FuzzMain.swift) and by
// FuzzCorpusReplayTests, which feeds them every file of the committed seed corpus
// (bench/fuzz-corpus/<target>/) in a normal `make test` build.
//
// Each check returns normally when the input is handled as it must be and throws a
// `FuzzViolation` naming the broken invariant otherwise. "Handled" includes refusing the input
// with a clear error: what must never happen is a trap (Swift runtime error), a hang, a result that
// depends on how the bytes were cut into chunks, or an answer that contradicts another parser of
// the same bytes.
import NIOCore
import NIOEmbedded
import NIOHTTP1
import LuaRuntime
@testable import GatewayCore

struct FuzzViolation: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum FuzzInvariants {
    /// The targets, by the name bench/fuzz and the corpus folders use.
    static let targets: [(name: String, check: @Sendable ([UInt8]) throws(FuzzViolation) -> Void)] = [
        ("sse", sse), ("eventstream", eventStream), ("head", requestHead), ("config", routeConfig),
        ("jsonscan", jsonScan),
    ]

    // MARK: Splitting

    /// Deterministic cut points for `input` (a hash seeds the generator), so a failure replays.
    static func cuts(of input: [UInt8], count: Int) -> [Int] {
        guard input.count > 1 else { return [] }
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var points: Set<Int> = []
        for _ in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            points.insert(Int((state >> 33) % UInt64(input.count - 1)) + 1)
        }
        return points.sorted()
    }

    /// `input` as chunks: whole, cut at a few pseudo-random points, and byte by byte (short inputs).
    static func splits(of input: [UInt8]) -> [[ArraySlice<UInt8>]] {
        var result: [[ArraySlice<UInt8>]] = [[input[...]]]
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        for cut in cuts(of: input, count: 3) + [input.count] {
            chunks.append(input[start..<cut])
            start = cut
        }
        result.append(chunks)
        if input.count <= 512 { result.append(input.indices.map { input[$0...$0] }) }
        return result
    }

    // MARK: SSE

    /// The incremental parser yields the events of a whole-input reference parser (WHATWG rules as
    /// SSEParser documents them), whatever way the input is cut, and agrees on a pending partial event.
    static func sse(_ input: [UInt8]) throws(FuzzViolation) {
        let expected = referenceSSE(input)
        // Chunks are slices of one buffer (no copy per chunk): byte by byte, a buffer allocated per
        // byte was most of a run's time.
        let whole = ByteBuffer(bytes: input)
        for chunks in splits(of: input) {
            var parser = SSEParser()
            var events: [SSEEvent] = []
            for chunk in chunks { events += parser.feed(whole.getSlice(at: chunk.startIndex, length: chunk.count)!) }
            guard events == expected.events else {
                throw FuzzViolation("SSE events differ for \(chunks.count) chunk(s): got \(events.count), expected \(expected.events.count)")
            }
            guard parser.hasPartialEvent == expected.partial else {
                throw FuzzViolation("SSE hasPartialEvent \(parser.hasPartialEvent) for \(chunks.count) chunk(s), expected \(expected.partial)")
            }
        }
    }

    /// A second, whole-input implementation of the event-stream rules: split into lines (CRLF, LF or
    /// CR), a blank line dispatches, `:` comments, `data` accumulates with "\n", `event` names.
    static func referenceSSE(_ input: [UInt8]) -> (events: [SSEEvent], partial: Bool) {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == 13 || byte == 10 {
                lines.append(input[start..<index])
                index += byte == 13 && index + 1 < input.count && input[index + 1] == 10 ? 2 : 1
                start = index
            } else {
                index += 1
            }
        }
        let rest = input[start...]
        var events: [SSEEvent] = []
        var name: String?
        var data: [UInt8] = []
        var hasData = false
        for line in lines {
            if line.isEmpty {
                if hasData || name != nil { events.append(SSEEvent(name: name, data: data)) }
                name = nil
                data = []
                hasData = false
                continue
            }
            if line.first == UInt8(ascii: ":") { continue }
            let colon = line.firstIndex(of: UInt8(ascii: ":"))
            let field = colon.map { line[..<$0] } ?? line
            var value = colon.map { line[($0 + 1)...] } ?? []
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
            if Array(field) == Array("data".utf8) {
                if hasData { data.append(10) }
                data += value
                hasData = true
            } else if Array(field) == Array("event".utf8) {
                name = String(decoding: value, as: UTF8.self)
            }
        }
        return (events, !rest.isEmpty || hasData || name != nil)
    }

    // MARK: AWS event stream

    /// The first byte chooses a mode: odd = the harness rewrites both CRCs of every frame first (so
    /// mutations reach the header and payload parsing instead of dying at the checksums). Then the
    /// decoder gives the same events, the same failure and the same "partial" state however the
    /// bytes are cut, and every event's payload lies inside its frame.
    static func eventStream(_ input: [UInt8]) throws(FuzzViolation) {
        guard let mode = input.first else { return }
        var bytes = Array(input.dropFirst())
        if mode & 1 == 1 { fixEventStreamChecksums(&bytes) }
        var reference: (events: [SSEEvent], failed: Bool, partial: Bool)?
        let whole = ByteBuffer(bytes: bytes)
        for chunks in splits(of: bytes) {
            var decoder = AWSEventStreamDecoder()
            var events: [SSEEvent] = []
            var failed = false
            for chunk in chunks {
                do {
                    events += try decoder.feed(whole.getSlice(at: chunk.startIndex, length: chunk.count)!)
                } catch {
                    failed = true
                    break
                }
            }
            let payloadBytes = events.reduce(0) { $0 + $1.data.count }
            guard payloadBytes <= bytes.count else { throw FuzzViolation("event-stream payloads larger than the input") }
            let outcome = (events: events, failed: failed, partial: failed ? false : decoder.hasPartialMessage)
            if let reference {
                // A failing frame throws away the events of the same feed call; compare the decoded
                // events only when neither run failed.
                guard outcome.failed == reference.failed else {
                    throw FuzzViolation("event-stream failure depends on the cuts (\(chunks.count) chunk(s): \(outcome.failed))")
                }
                if !outcome.failed {
                    guard outcome.events == reference.events, outcome.partial == reference.partial else {
                        throw FuzzViolation("event-stream events depend on the cuts (\(chunks.count) chunk(s))")
                    }
                }
            } else {
                reference = outcome
            }
        }
    }

    /// Rewrites the prelude and message CRC32 of each frame in place (walking the length fields).
    static func fixEventStreamChecksums(_ bytes: inout [UInt8]) {
        func read(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        func write(_ value: UInt32, _ at: Int) {
            for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * k)) }
        }
        var offset = 0
        while bytes.count - offset >= 12 {
            let total = read(offset)
            write(CRC32.checksum(bytes[offset..<(offset + 8)]), offset + 8)
            guard total >= 16, bytes.count - offset >= total else { return }
            write(CRC32.checksum(bytes[offset..<(offset + total - 4)]), offset + total - 4)
            offset += total
        }
    }

    // MARK: Request head

    /// Bytes from a client through NIO's HTTP/1 server pipeline (configured as the gateway's), then
    /// what the gateway itself does with each head: header options (`RequestOptions.parse`).
    /// The decoded heads and the parse outcome must not depend on how the bytes arrive; a refusal
    /// is a 4xx `GatewayError`; accepted options keep their documented shape.
    static func requestHead(_ input: [UInt8]) throws(FuzzViolation) {
        var reference: [String]?
        for chunks in splits(of: input).prefix(2) {
            let outcome = try decodeHeads(chunks)
            if let reference, reference != outcome {
                throw FuzzViolation("request heads depend on the cuts: \(reference) vs \(outcome)")
            }
            reference = outcome
        }
    }

    /// Decodes the parts, checks each head's options, and describes what happened (for comparison).
    static func decodeHeads(_ chunks: [ArraySlice<UInt8>]) throws(FuzzViolation) -> [String] {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        do {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false)
        } catch {
            throw FuzzViolation("could not set up the pipeline: \(error)")
        }
        var log: [String] = []
        var body = 0
        func drain() throws(FuzzViolation) {
            while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let head):
                    log.append("head \(head.method.rawValue) \(head.uri) \(head.version) \(head.headers.map { "\($0.name)=\($0.value)" })")
                    log.append(try options(head))
                    headHook?(head)
                case .body(let chunk):
                    body += chunk.readableBytes
                case .end:
                    log.append("body \(body) end")
                    body = 0
                }
            }
        }
        for chunk in chunks {
            do {
                try channel.writeInbound(ByteBuffer(bytes: chunk))
            } catch {
                try drain()
                log.append("error")
                return log
            }
            try drain()
        }
        return log
    }

    /// Extra per-head checks the fuzz target adds (the route table lives in GatewayServer).
    nonisolated(unsafe) static var headHook: ((HTTPRequestHead) -> Void)?

    static func options(_ head: HTTPRequestHead) throws(FuzzViolation) -> String {
        let parsed: RequestOptions
        do {
            parsed = try RequestOptions.parse(head.headers, policy: CustomHostPolicy())
        } catch {
            guard (400..<500).contains(error.status) else {
                throw FuzzViolation("RequestOptions.parse refused with status \(error.status): \(error.message)")
            }
            return "refused \(error.status) \(error.message)"
        }
        if let timeout = parsed.timeoutMilliseconds, timeout <= 0 {
            throw FuzzViolation("accepted a request timeout of \(timeout) ms")
        }
        if parsed.traceID.isEmpty || parsed.traceID.utf8.count > 256 {
            throw FuzzViolation("trace id of \(parsed.traceID.utf8.count) bytes")
        }
        for name in parsed.forwardHeaders where name.isEmpty || name != name.lowercased() {
            throw FuzzViolation("forward header name '\(name)' is empty or not lowercase")
        }
        if let host = parsed.customHost {
            let lower = host.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
                throw FuzzViolation("custom host '\(host)' is not http(s)")
            }
            if host.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) {
                throw FuzzViolation("custom host '\(host)' holds a control character")
            }
        }
        if let key = parsed.apiKey, key.isEmpty { throw FuzzViolation("empty api key kept") }
        return "options \(parsed.provider ?? "-") \(parsed.customHost ?? "-") \(parsed.forwardHeaders) "
            + "\(parsed.timeoutMilliseconds ?? 0) \(parsed.settings.map { "\($0.0)=\($0.1)" }) \(parsed.config ?? "-")"
    }

    // MARK: Route config

    /// `x-portkey-config` text: parsed, or refused with a 400 `invalid_config` naming the problems;
    /// an accepted config holds only values in range.
    static func routeConfig(_ input: [UInt8]) throws(FuzzViolation) {
        let text = String(decoding: input, as: UTF8.self)
        let config: RouteConfig
        do {
            config = try RouteConfig.parse(text, knownProviders: ["openai", "p1", "p2"])
        } catch {
            guard error.status == 400, error.code == "invalid_config" else {
                throw FuzzViolation("config refused with \(error.status) \(error.code ?? "-"): \(error.message)")
            }
            return
        }
        try checkTarget(config.root)
    }

    static func checkTarget(_ target: RouteConfig.Target) throws(FuzzViolation) {
        guard target.weight.isFinite, target.weight >= 0 else { throw FuzzViolation("\(target.path): weight \(target.weight)") }
        if let retry = target.retry {
            guard (0...RouteConfig.Retry.maximumAttempts).contains(retry.attempts) else {
                throw FuzzViolation("\(target.path): retry attempts \(retry.attempts)")
            }
            for code in retry.onStatusCodes where !(100...599).contains(code) {
                throw FuzzViolation("\(target.path): retry status \(code)")
            }
        }
        for code in target.onStatusCodes ?? [] where !(100...599).contains(code) {
            throw FuzzViolation("\(target.path): on_status_codes \(code)")
        }
        if let timeout = target.requestTimeout, timeout <= 0 { throw FuzzViolation("\(target.path): timeout \(timeout)") }
        if let cache = target.cache, cache.maxAge <= .zero { throw FuzzViolation("\(target.path): cache max_age \(cache.maxAge)") }
        if target.isGroup && target.provider != nil { throw FuzzViolation("\(target.path): both provider and targets") }
        if target.mode == .single && target.targets.count > 1 { throw FuzzViolation("\(target.path): single with \(target.targets.count) targets") }
        if target.mode == .conditional {
            let names = Set(target.targets.compactMap(\.name))
            for condition in target.conditions where !names.contains(condition.then) {
                throw FuzzViolation("\(target.path): condition names missing target '\(condition.then)'")
            }
        }
        for child in target.targets { try checkTarget(child) }
    }

    // MARK: JSON scan

    /// The validating scan the gateway runs on request bodies (C, `JSONScan`) and the Swift parser
    /// the cache builds trees with (`JSONTree`) accept the same documents (up to the tree's lower
    /// depth limit), and agree on the top-level "model" and "stream" the gateway routes and caches on.
    static func jsonScan(_ input: [UInt8]) throws(FuzzViolation) {
        let scan: JSONScan?
        do {
            scan = try JSONScan.scan(input)
        } catch {
            guard error.offset >= 0, error.offset <= input.count, !error.reason.isEmpty else {
                throw FuzzViolation("scan failure at offset \(error.offset) of \(input.count): '\(error.reason)'")
            }
            scan = nil
        }
        let tree = JSONTree.parse(input)
        if (scan != nil) != (tree != nil) {
            let deep = nesting(input) > JSONTree.maxDepth
            if !(scan != nil && deep) {
                throw FuzzViolation(scan != nil ? "the scan accepts what JSONTree refuses" : "JSONTree accepts what the scan refuses")
            }
        }
        guard let scan, let tree else { return }
        guard scan.isObject == (tree.members != nil) else { throw FuzzViolation("isObject \(scan.isObject) disagrees with JSONTree") }
        guard scan.isObject else { return }
        guard scan.model == tree["model"]?.string else {
            throw FuzzViolation("scan model \(scan.model ?? "nil") vs tree model \(tree["model"]?.string ?? "nil")")
        }
        let stream: Bool? = switch tree["stream"] {
        case .bool(let flag)?: flag
        default: nil
        }
        guard scan.stream == stream else { throw FuzzViolation("scan stream \(String(describing: scan.stream)) vs tree \(String(describing: stream))") }
    }

    /// Deepest bracket nesting outside strings (for the depth limits, which differ on purpose).
    static func nesting(_ input: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in input {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}
