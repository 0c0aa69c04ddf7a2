import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// OpenAI's Realtime API over a WebSocket (GA protocol), enough for the gateway's proxy tests.
///
/// Written from OpenAI's Realtime reference (developers.openai.com: "Realtime API with WebSocket",
/// client events `session.update`, `input_audio_buffer.append`/`commit`, `response.create`; server
/// events `session.created`, `session.updated`, `input_audio_buffer.committed`, `response.created`,
/// `response.output_audio.delta`, `response.output_audio_transcript.delta`, `response.done`,
/// `error`), and OpenAI's "Realtime conversations" guide for the session lifecycle. The GA event
/// names `response.output_audio.delta` / `…_transcript.delta` were checked against the GA server
/// event list of clients generated from OpenAI's API spec (openai-python's typings, the
/// `RealtimeServerEvent` enums of async-openai and openai-protocol), not against the reference page
/// itself; the mock sends only the fields tests read, not every field.
///
/// - Handshake (`GET …/v1/realtime`, also under `/openai/v1/realtime` for Azure's URL): needs
///   `Authorization: Bearer <key>` or `api-key: <key>`; without one the upgrade is refused with 401
///   and OpenAI's error JSON. A subprotocol offer containing `realtime` gets `realtime` back.
/// - On connect: `session.created`. The transcript of every response is `heard N bytes of audio`,
///   N the decoded bytes appended so far, so a test sees the audio arrived whole.
/// - Controls (query): `mock_close=<code>` (and `mock_close_reason=`) closes with that code after
///   the client's first event; `mock_drop=1` drops the TCP connection there without a close frame;
///   `mock_flood=<n>` sends n audio deltas of 1 MiB each right after `session.created`, counting in
///   `flood_written_bytes` what the socket took (a test of the proxy's back-pressure).
/// - `GET /mock/realtime-last`: what the last session saw (headers, events, audio bytes, the
///   client's close code and reason, or `dropped`).
enum RealtimeMock {
    /// What the last session saw, for `/mock/realtime-last`.
    struct Session: Sendable {
        var uri = ""
        var authorization: String?
        var apiKey: String?
        var openAIBeta: String?
        var subprotocol: String?
        var events: [String] = []
        var audioBytes = 0
        var clientCloseCode: Int?
        var clientCloseReason: String?
        /// open, closed (by the client's close frame), dropped (the client's TCP closed without
        /// one), server_closed, server_dropped (the mock_close / mock_drop controls).
        var ended = "open"
        /// `mock_flood`: bytes of the flood's frames the socket has taken so far.
        var floodWritten = 0

        var json: [String: Any] {
            ["uri": uri, "authorization": authorization ?? NSNull(), "api_key": apiKey ?? NSNull(),
             "openai_beta": openAIBeta ?? NSNull(), "subprotocol": subprotocol ?? NSNull(), "events": events,
             "audio_bytes": audioBytes, "client_close_code": clientCloseCode ?? NSNull(),
             "client_close_reason": clientCloseReason ?? NSNull(), "ended": ended, "flood_written_bytes": floodWritten]
        }
    }

    static let last = Mutex<Session?>(nil)

    static func isRealtimePath(_ path: Substring) -> Bool {
        path == "/v1/realtime" || path.hasSuffix("/v1/realtime")
    }

    /// A key is present and not one the mock refuses (keys starting `sk-bad` get 401 invalid_api_key).
    static func hasKey(_ headers: HTTPHeaders) -> Bool {
        if let auth = headers.first(name: "authorization"), auth.lowercased().hasPrefix("bearer "), auth.count > 7 {
            return !auth.dropFirst(7).hasPrefix("sk-bad")
        }
        if let key = headers.first(name: "api-key"), !key.isEmpty { return !key.hasPrefix("sk-bad") }
        return false
    }

    /// The HTTP answers of the realtime paths (a request that was not upgraded), and the record of
    /// the last session; nil for every other path.
    static func httpReply(for request: MockRequest, allocator: ByteBufferAllocator) -> Reply? {
        let path = request.path
        if path == "/mock/realtime-last" {
            let snapshot = last.withLock { $0 }?.json ?? [:]
            let data = (try? JSONSerialization.data(withJSONObject: snapshot, options: [.sortedKeys])) ?? Data("{}".utf8)
            return .json(allocator.buffer(bytes: data))
        }
        guard isRealtimePath(path) else { return nil }
        if !hasKey(request.head.headers) {
            if request.head.headers.contains(name: "authorization") || request.head.headers.contains(name: "api-key") {
                return .json(allocator.buffer(string: #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#),
                             status: .unauthorized)
            }
            return .json(allocator.buffer(string: #"{"error":{"message":"Missing bearer or basic authentication in header","type":"invalid_request_error","param":null,"code":"missing_api_key"}}"#),
                         status: .unauthorized)
        }
        return .json(allocator.buffer(string: #"{"error":{"message":"expected a WebSocket upgrade","type":"invalid_request_error","param":null,"code":null}}"#),
                     status: .badRequest)
    }

    /// On upgrade: the HTTP handlers after NIO's leave the pipeline.
    static func removeHTTPHandlers(_ pipeline: ChannelPipeline) {
        let sync = pipeline.syncOperations
        if let http = try? sync.handler(type: MockHTTPHandler.self) { sync.removeHandler(http, promise: nil) }
        if let filter = try? sync.handler(type: RealtimeUpgradeRefusalFilter.self) { sync.removeHandler(filter, promise: nil) }
    }

    /// The upgrader for the mock's pipeline: upgrades realtime paths that carry a key.
    static func upgrader() -> NIOWebSocketServerUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: 32 << 20, automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1).first ?? ""
                guard isRealtimePath(path), hasKey(head.headers) else { return channel.eventLoop.makeSucceededFuture(nil) }
                var headers = HTTPHeaders()
                let offered = head.headers[canonicalForm: "sec-websocket-protocol"].map { $0.trimmingCharacters(in: .whitespaces) }
                if offered.contains("realtime") { headers.add(name: "sec-websocket-protocol", value: "realtime") }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RealtimeMockHandler(head: head))
                }
            })
    }
}

/// Sits before MockHTTPHandler: NIO's upgrade handler reports a refused upgrade (no key) as an
/// error down the pipeline before passing the request on, which MockHTTPHandler would take for a
/// broken connection; the refusal is answered as HTTP (401) instead.
final class RealtimeUpgradeRefusalFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After the connection's first request nothing can upgrade it any more (NIO's upgrade
        // handler leaves after it too): the filter leaves, so later requests do not pass through it.
        let ends = if case .end = unwrapInboundIn(data) { true } else { false }
        context.fireChannelRead(data)
        if ends { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOWebSocketUpgradeError, error == .unsupportedWebSocketTarget { return }
        context.fireErrorCaught(error)
    }
}

/// One mocked realtime session.
final class RealtimeMockHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let head: HTTPRequestHead
    let query: [String: String]
    var audioBytes = 0
    var events: [String] = []
    var message = ByteBuffer()
    var messageIsText = true
    var sequence = 0
    var closed = false
    var sessionConfig: [String: Any] = [:]

    init(head: HTTPRequestHead) {
        self.head = head
        var query: [String: String] = [:]
        if let mark = head.uri.firstIndex(of: "?") {
            for pair in head.uri[head.uri.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                let value = parts.count > 1 ? String(parts[1]).removingPercentEncoding ?? String(parts[1]) : ""
                query[String(parts[0])] = value
            }
        }
        self.query = query
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let headers = head.headers
        RealtimeMock.last.withLock { last in
            last = RealtimeMock.Session(uri: head.uri, authorization: headers.first(name: "authorization"),
                                        apiKey: headers.first(name: "api-key"), openAIBeta: headers.first(name: "openai-beta"),
                                        subprotocol: headers.first(name: "sec-websocket-protocol"))
        }
        if context.channel.isActive { sessionCreated(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
    }

    private func sessionCreated(context: ChannelHandlerContext) {
        sessionConfig = ["type": "realtime", "object": "realtime.session", "id": "sess_mock",
                         "model": query["model"] ?? "gpt-realtime", "output_modalities": ["audio"], "instructions": "",
                         "audio": ["input": ["format": ["type": "audio/pcm", "rate": 24000]],
                                   "output": ["format": ["type": "audio/pcm", "rate": 24000], "voice": "alloy"]]]
        send(["type": "session.created", "session": sessionConfig], context: context)
        if let count = query["mock_flood"].flatMap({ Int($0) }), count > 0 { flood(count, context: context) }
    }

    /// `count` frames of 1 MiB (one buffer written again and again), each counted when written.
    private func flood(_ count: Int, context: ChannelHandlerContext) {
        var payload = context.channel.allocator.buffer(capacity: 1 << 20)
        payload.writeString(#"{"type":"response.output_audio.delta","response_id":"resp_flood","delta":""#)
        payload.writeRepeatingByte(UInt8(ascii: "A"), count: (1 << 20) - payload.readableBytes - 2)
        payload.writeString(#""}"#)
        let size = payload.readableBytes
        for _ in 0..<count {
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: payload))).whenSuccess {
                RealtimeMock.last.withLock { last in last?.floodWritten += size }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            let (code, reason) = Self.closePayload(frame.unmaskedData)
            record {
                if $0.ended == "open" { $0.ended = "closed" }
                $0.clientCloseCode = code.map { Int($0) }
                $0.clientCloseReason = reason
            }
            if !closed {
                closed = true
                // Answer with the same close, then end the connection (the server closes TCP).
                let echo = WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)
                context.writeAndFlush(wrapOutboundOut(echo)).whenComplete { _ in context.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .text, .binary:
            message = frame.unmaskedData
            messageIsText = frame.opcode == .text
            if frame.fin { handleMessage(context: context) }
        case .continuation:
            var data = frame.unmaskedData
            message.writeBuffer(&data)
            if frame.fin { handleMessage(context: context) }
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        record { if $0.ended == "open" { $0.ended = "dropped" } }
        context.fireChannelInactive()
    }

    private func record(_ change: (inout RealtimeMock.Session) -> Void) {
        RealtimeMock.last.withLock { last in
            if var session = last {
                change(&session)
                last = session
            }
        }
    }

    private func handleMessage(context: ChannelHandlerContext) {
        guard !closed else { return }
        let bytes = Data(message.readableBytesView)
        guard let event = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any], let type = event["type"] as? String else {
            return send(error("invalid_json", "the message is not a JSON event"), context: context)
        }
        events.append(type)
        let events = self.events
        record { $0.events = events }
        if let code = query["mock_close"].flatMap({ UInt16($0) }) {
            closed = true
            var payload = context.channel.allocator.buffer(capacity: 64)
            payload.writeInteger(code)
            payload.writeString(query["mock_close_reason"] ?? "mock close")
            record { $0.ended = "server_closed" }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)), promise: nil)
            return
        }
        if query["mock_drop"] == "1" {
            closed = true
            record { $0.ended = "server_dropped" }
            context.close(promise: nil)
            return
        }
        switch type {
        case "session.update":
            if let session = event["session"] as? [String: Any] {
                for (key, value) in session { sessionConfig[key] = value }
            }
            send(["type": "session.updated", "session": sessionConfig], context: context)
        case "input_audio_buffer.append":
            guard let audio = event["audio"] as? String, let decoded = Data(base64Encoded: audio) else {
                return send(error("invalid_value", "input_audio_buffer.append needs base64 audio"), context: context)
            }
            audioBytes += decoded.count
            let total = audioBytes
            record { $0.audioBytes = total }
        case "input_audio_buffer.commit":
            send(["type": "input_audio_buffer.committed", "previous_item_id": NSNull(), "item_id": "item_in_\(sequence)"], context: context)
        case "input_audio_buffer.clear":
            audioBytes = 0
            send(["type": "input_audio_buffer.cleared"], context: context)
        case "response.create":
            respond(context: context)
        default:
            send(error("unknown_event", "the mock does not handle '\(type)'"), context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        let responseID = "resp_mock_\(sequence)"
        let itemID = "item_out_\(sequence)"
        send(["type": "response.created",
              "response": ["object": "realtime.response", "id": responseID, "status": "in_progress", "output": [Any]()]], context: context)
        let transcript = "heard \(audioBytes) bytes of audio"
        let words = transcript.split(separator: " ").enumerated().map { $0.offset == 0 ? String($0.element) : " " + $0.element }
        for (index, word) in words.enumerated() {
            // 480 bytes of silence per delta (10 ms of 24 kHz PCM16).
            let audio = Data(repeating: UInt8(index), count: 480).base64EncodedString()
            send(["type": "response.output_audio.delta", "response_id": responseID, "item_id": itemID, "output_index": 0,
                  "content_index": 0, "delta": audio], context: context)
            send(["type": "response.output_audio_transcript.delta", "response_id": responseID, "item_id": itemID,
                  "output_index": 0, "content_index": 0, "delta": word], context: context)
        }
        send(["type": "response.done",
              "response": ["object": "realtime.response", "id": responseID, "status": "completed",
                           "output": [["id": itemID, "type": "message", "role": "assistant", "status": "completed",
                                       "content": [["type": "output_audio", "transcript": transcript]]]],
                           "usage": ["total_tokens": 30, "input_tokens": 10, "output_tokens": 20]]], context: context)
    }

    private func error(_ code: String, _ message: String) -> [String: Any] {
        ["type": "error", "error": ["type": "invalid_request_error", "code": code, "message": message]]
    }

    private func send(_ event: [String: Any], context: ChannelHandlerContext) {
        sequence += 1
        var event = event
        event["event_id"] = "event_mock_\(sequence)"
        guard let data = try? JSONSerialization.data(withJSONObject: event) else { return }
        let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(bytes: data))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    static func closePayload(_ data: ByteBuffer) -> (UInt16?, String) {
        var data = data
        guard let code = data.readInteger(as: UInt16.self) else { return (nil, "") }
        return (code, data.readString(length: data.readableBytes) ?? "")
    }
}
