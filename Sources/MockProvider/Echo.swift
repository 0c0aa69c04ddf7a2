import NIOCore
import NIOHTTP1

/// `/v1/echo` (and the `echo` control): describes the request exactly as it arrived.
///
/// Why: gateway tests use it to assert what the gateway forwards upstream — rewritten paths,
/// injected or stripped headers, transformed bodies.
enum Echo {
    static func reply(for request: MockRequest, allocator: ByteBufferAllocator) -> Reply {
        var body = allocator.buffer(capacity: 256 + request.body.readableBytes * 2)
        body.writeStaticString("{\"method\":")
        body.writeJSONString(request.head.method.rawValue)
        body.writeStaticString(",\"path\":")
        body.writeJSONString(String(request.path))
        body.writeStaticString(",\"query\":")
        body.writeJSONString(String(request.query ?? ""))
        body.writeStaticString(",\"headers\":{")
        // Repeated headers are joined with ", " as HTTP allows; names are lowercased.
        var order: [String] = []
        var values: [String: String] = [:]
        for (name, value) in request.head.headers {
            let key = name.lowercased()
            if let existing = values[key] {
                values[key] = existing + ", " + value
            } else {
                order.append(key)
                values[key] = value
            }
        }
        for (index, key) in order.enumerated() {
            if index > 0 { body.writeStaticString(",") }
            body.writeJSONString(key)
            body.writeStaticString(":")
            body.writeJSONString(values[key] ?? "")
        }
        body.writeStaticString("},\"body\":")
        body.writeJSONString(String(buffer: request.body))
        body.writeStaticString("}")
        return .json(body)
    }
}
