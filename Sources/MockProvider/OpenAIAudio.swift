import Foundation
import NIOCore
import NIOHTTP1

/// `POST /v1/audio/speech` (JSON in, binary audio or SSE out) and `POST /v1/audio/transcriptions`
/// / `/v1/audio/translations` (multipart in), in OpenAI's shape.
///
/// Reference: OpenAI API reference, Audio (https://platform.openai.com/docs/api-reference/audio and
/// the speech page https://developers.openai.com/api/reference/resources/audio/subresources/speech/methods/create.md),
/// transcription streaming events
/// (https://developers.openai.com/api/reference/resources/audio/subresources/transcriptions/streaming-events).
/// Speech answers raw audio bytes with the format's content type, sent as produced; with
/// `stream_format: "sse"` it sends `speech.audio.delta` events (`{type, audio: <base64>}`) and one
/// `speech.audio.done` (`{type, usage}`). Transcriptions answer `{text, usage}` (json), the text
/// itself (text, srt, vtt) or `verbose_json`; `stream: true` (not whisper-1, where OpenAI ignores
/// it) sends `transcript.text.delta` / `transcript.text.done` events. Not verified: whether
/// OpenAI's speech events carry `event:` lines (the mock sends `data:` lines only, as the SDKs
/// read them).
///
/// Deterministic content: speech audio is `magic(format)` followed by
/// `sha256("<format>:<i>:<input>")` for i in 0..<256 (8 KiB), sent in 2 KiB chunks 20 ms apart;
/// a transcription's text names the upload's byte count and SHA-256.
/// Controls (headers, forwarded through the gateway with `x-portkey-forward-headers`):
/// `x-mock-cut-after: <bytes>` sends that many bytes of the audio and drops the connection;
/// `x-mock-hold: <key>` keeps the last chunk back until `POST /mock/holds/<key>/release` (`Holds`).
enum OpenAIAudio {
    static let contentTypes: [String: String] = [
        "mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac",
        "wav": "audio/wav", "pcm": "audio/pcm",
    ]
    static let blocks = 256
    static let chunkBytes = 2048
    static let chunkInterval: TimeAmount = .milliseconds(20)

    /// The first bytes of each format, so a player-like check sees the right container.
    static func magic(_ format: String) -> [UInt8] {
        switch format {
        case "mp3": Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 0]
        case "wav": Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8)
        case "flac": Array("fLaC".utf8)
        case "opus": Array("OggS".utf8)
        case "aac": [0xff, 0xf1]
        default: []
        }
    }

    static func audio(input: String, format: String) -> [UInt8] {
        var bytes = magic(format)
        bytes.reserveCapacity(bytes.count + blocks * 32)
        for index in 0..<blocks { bytes += Digest.sha256(Array("\(format):\(index):\(input)".utf8)) }
        return bytes
    }

    static func speech(_ request: MockRequest, _ json: JSONBody, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let input = json.string("input"), !input.isEmpty else { throw .badRequest("'input' is a required property") }
        guard input.count <= 4096 else { throw .badRequest("Invalid 'input': string too long (maximum 4096 characters).") }
        guard let model = json.string("model") else { throw .badRequest("'model' is a required property") }
        guard json.has("voice") else { throw .badRequest("'voice' is a required property") }
        let format = json.string("response_format") ?? "mp3"
        guard let contentType = contentTypes[format] else {
            throw .badRequest("Invalid 'response_format': '\(format)'; expected one of mp3, opus, aac, flac, wav, pcm.")
        }
        if let speed = json.decode("speed") as? Double, !(0.25...4.0).contains(speed) {
            throw .badRequest("Invalid 'speed': expected a number between 0.25 and 4.0.")
        }
        let sse: Bool
        switch json.string("stream_format") {
        case nil, "audio": sse = false
        case "sse":
            guard !model.hasPrefix("tts-1") else { throw .badRequest("stream_format 'sse' is not supported for \(model).") }
            sse = true
        case let other?: throw .badRequest("Invalid 'stream_format': '\(other)'; expected 'audio' or 'sse'.")
        }

        var bytes = audio(input: input, format: format)
        let cut = try EndpointSupport.cutAfter(request)
        if let cut, cut < bytes.count { bytes = Array(bytes.prefix(cut)) }
        var chunks: [ByteBuffer] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunkBytes, bytes.count)
            let piece = bytes[offset..<end]
            if sse {
                let event = ["type": "speech.audio.delta", "audio": Data(piece).base64EncodedString()]
                chunks.append(sseChunk(event, allocator: allocator))
            } else {
                chunks.append(allocator.buffer(bytes: piece))
            }
            offset = end
        }
        if sse, cut == nil {
            let tokens = TokenEstimate.tokens(forBytes: input.utf8.count)
            let usage = ["input_tokens": tokens, "output_tokens": blocks, "total_tokens": tokens + blocks]
            chunks.append(sseChunk(["type": "speech.audio.done", "usage": usage], allocator: allocator))
        }
        var reply = sse ? Reply.eventStream(chunks) : Reply(status: .ok, contentType: contentType, body: .stream(chunks))
        reply.interval = chunkInterval
        EndpointSupport.applyStreamControls(to: &reply, request, cut: cut != nil)
        return .reply(reply)
    }

    static func transcribe(_ request: MockRequest, translate: Bool, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let form = try FormData(request)
        let file = try form.file("file")
        guard let model = form.field("model"), !model.isEmpty else { throw .badRequest("'model' is a required property") }
        let format = form.field("response_format") ?? "json"
        let digest = Digest.sha256Hex(file.body)
        var text = "\(translate ? "Translated" : "Transcribed") \(file.body.count) bytes of \(file.filename ?? "upload") sha256=\(digest)."
        if let language = form.field("language") { text += " Language: \(language)." }
        if let prompt = form.field("prompt") { text += " Prompt: \(prompt)." }
        let duration = max(1.0, (Double(file.body.count) / 16_000).rounded())
        let tokens = TokenEstimate.tokens(forBytes: text.utf8.count)
        let usage: [String: Any] =
            model == "whisper-1"
            ? ["type": "duration", "seconds": Int(duration)]
            : ["type": "tokens", "input_tokens": 50, "output_tokens": tokens, "total_tokens": 50 + tokens,
               "input_token_details": ["text_tokens": 0, "audio_tokens": 50]]

        if !translate, form.field("stream") == "true", model != "whisper-1" {
            var plan = StreamPlan()
            var words = text.split(separator: " ", omittingEmptySubsequences: false).map { String($0) }
            for index in words.indices.dropLast() { words[index] += " " }
            for word in words {
                plan.append(jsonBuffer(["type": "transcript.text.delta", "delta": word], allocator: allocator))
            }
            plan.append(jsonBuffer(["type": "transcript.text.done", "text": text, "usage": usage], allocator: allocator))
            return .stream(plan)
        }

        let end = timestamp(duration, separator: ",")
        switch format {
        case "json":
            return EndpointSupport.json(["text": text, "usage": usage], allocator: allocator)
        case "text":
            return .reply(plain(text + "\n", allocator: allocator))
        case "srt":
            return .reply(plain("1\n00:00:00,000 --> \(end)\n\(text)\n\n", allocator: allocator))
        case "vtt":
            let vttEnd = timestamp(duration, separator: ".")
            return .reply(plain("WEBVTT\n\n00:00:00.000 --> \(vttEnd)\n\(text)\n\n", allocator: allocator))
        case "verbose_json":
            var object: [String: Any] = [
                "task": translate ? "translate" : "transcribe",
                "language": translate ? "english" : (form.field("language") ?? "english"),
                "duration": duration, "text": text,
                "segments": [[
                    "id": 0, "seek": 0, "start": 0.0, "end": duration, "text": text, "tokens": Array(1...min(tokens, 50)),
                    "temperature": 0.0, "avg_logprob": -0.25, "compression_ratio": 1.25, "no_speech_prob": 0.01,
                ]],
                "usage": usage,
            ]
            if form.fields("timestamp_granularities[]").contains("word") {
                let words = text.split(separator: " ")
                let step = duration / Double(max(words.count, 1))
                object["words"] = words.enumerated().map { index, word in
                    ["word": String(word), "start": Double(index) * step, "end": Double(index + 1) * step] as [String: Any]
                }
            }
            return EndpointSupport.json(object, allocator: allocator)
        default:
            throw .badRequest("Invalid 'response_format': '\(format)'; expected one of json, text, srt, verbose_json, vtt.")
        }
    }

    private static func timestamp(_ seconds: Double, separator: String) -> String {
        let whole = Int(seconds)
        return String(format: "%02d:%02d:%02d%@000", whole / 3600, whole / 60 % 60, whole % 60, separator)
    }

    private static func plain(_ text: String, allocator: ByteBufferAllocator) -> Reply {
        Reply(status: .ok, contentType: "text/plain; charset=utf-8", body: .full(allocator.buffer(string: text)))
    }

    /// An event object as JSON with its `type` first, as OpenAI writes its events (readers such as
    /// the gateway's stream-end check look for a leading `{"type":"…"`), the rest in sorted order.
    static func jsonBuffer(_ object: [String: Any], allocator: ByteBufferAllocator) -> ByteBuffer {
        var rest = object
        let type = rest.removeValue(forKey: "type") as? String
        let data = (try? JSONSerialization.data(withJSONObject: rest, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        guard let type else { return allocator.buffer(bytes: data) }
        var buffer = allocator.buffer(capacity: data.count + type.utf8.count + 12)
        buffer.writeStaticString("{\"type\":")
        buffer.writeJSONString(type)
        if data.count > 2 {
            buffer.writeStaticString(",")
            buffer.writeBytes(data.dropFirst())
        } else {
            buffer.writeStaticString("}")
        }
        return buffer
    }

    private static func sseChunk(_ object: [String: Any], allocator: ByteBufferAllocator) -> ByteBuffer {
        var chunk = allocator.buffer(string: "data: ")
        var json = jsonBuffer(object, allocator: allocator)
        chunk.writeBuffer(&json)
        chunk.writeString("\n\n")
        return chunk
    }
}
