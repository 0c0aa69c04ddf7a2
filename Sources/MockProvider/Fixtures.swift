import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Canned upstream answers that a test stores first and then asks for by name.
///
/// Why: translation tests need exact provider payloads written from each provider's API reference
/// (tool calls, every stop reason, error events, truncated or malformed streams). The test stores
/// one with `POST /mock/fixtures/<name>` and the request it sends through the gateway carries
/// `x-mock-fixture: <name>` (forwarded with `x-portkey-forward-headers`), so the translated request
/// body stays exactly what the provider would receive.
///
/// A fixture is JSON: `{"status": 200, "headers": {...}, "body": <JSON>}` for a complete answer
/// (`"text"` instead of `"body"` sends a string as is), or `{"status": 200, "events": [...],
/// "interval_ms": 5}` for an event stream where each event is `{"event": "name", "data": <JSON or
/// string>}`, `{"raw": "bytes as is"}` (for malformed or cut streams) or `{"raw_base64": "..."}`
/// (binary framings such as Bedrock's event stream; set `headers.content-type` to match).
struct Fixture: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]?
    var events: [[UInt8]]?
    var intervalMs: Int

    static let store = Mutex<[String: Fixture]>([:])

    init(json: [UInt8]) throws(APIError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed]) as? [String: Any] else {
            throw .badRequest("a fixture must be a JSON object")
        }
        status = object["status"] as? Int ?? 200
        headers = (object["headers"] as? [String: Any] ?? [:]).map { ($0.key.lowercased(), "\($0.value)") }
        intervalMs = object["interval_ms"] as? Int ?? 0
        if let events = object["events"] as? [[String: Any]] {
            var framed: [[UInt8]] = []
            for event in events {
                if let encoded = event["raw_base64"] as? String, let bytes = Data(base64Encoded: encoded) {
                    framed.append(Array(bytes))  // binary framing (AWS event stream)
                    continue
                }
                if let raw = event["raw"] as? String {
                    framed.append(Array(raw.utf8))
                    continue
                }
                var text = ""
                if let name = event["event"] as? String { text += "event: \(name)\n" }
                let data: String
                if let string = event["data"] as? String {
                    data = string
                } else if let value = event["data"],
                          let encoded = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                    data = String(decoding: encoded, as: UTF8.self)
                } else {
                    throw .badRequest("every fixture event needs data or raw")
                }
                text += "data: \(data)\n\n"
                framed.append(Array(text.utf8))
            }
            self.events = framed
        } else if let text = object["text"] as? String {
            body = Array(text.utf8)
        } else if let value = object["body"],
                  let encoded = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
            body = Array(encoded)
        } else {
            throw .badRequest("a fixture needs body, text or events")
        }
    }

    func reply(allocator: ByteBufferAllocator) -> Reply {
        let status = HTTPResponseStatus(statusCode: status)
        var reply: Reply
        if let events {
            reply = Reply(status: status, contentType: "text/event-stream",
                          body: .stream(events.map { allocator.buffer(bytes: $0) }))
            reply.interval = .milliseconds(Int64(intervalMs))
        } else {
            reply = Reply(status: status, contentType: "application/json", body: .full(allocator.buffer(bytes: body ?? [])))
        }
        for (name, value) in headers { reply.headers.replaceOrAdd(name: name, value: value) }
        return reply
    }
}

/// The last request the mock answered from a fixture, for tests that check what a translating
/// provider sent upstream (`GET /mock/last-request`).
enum LastRequest {
    static let store = Mutex<[UInt8]>(Array("{}".utf8))

    static func record(_ request: MockRequest) {
        var headers: [String: String] = [:]
        for (name, value) in request.head.headers { headers[name.lowercased()] = value }
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView), options: [.fragmentsAllowed]))
            ?? String(decoding: request.body.readableBytesView, as: UTF8.self)
        let object: [String: Any] = [
            "method": request.head.method.rawValue, "uri": request.head.uri, "headers": headers, "body": body,
            "body_base64": Data(request.body.readableBytesView).base64EncodedString(),
        ]
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            store.withLock { $0 = Array(data) }
        }
    }
}
