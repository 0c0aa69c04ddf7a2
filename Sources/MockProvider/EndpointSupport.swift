import Foundation
import NIOCore
import NIOHTTP1

/// Helpers the issue-19 endpoints share: JSON answers, query parameters, header controls,
/// OpenAI's not-found error and cursor pages.
enum EndpointSupport {
    /// `{…}` rendered with JSONSerialization (these endpoints are off the hot path).
    static func json(_ object: Any, allocator: ByteBufferAllocator, status: Int = 200) -> Outcome {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var reply = Reply.json(allocator.buffer(bytes: data))
        reply.status = APIError.status(status)
        return .reply(reply)
    }

    /// Query parameters, percent-decoded (`+` is a space, as in forms).
    static func query(_ request: MockRequest) -> [String: String] {
        guard let query = request.query else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let pieces = pair.split(separator: "=", maxSplits: 1)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            result[decode(pieces[0])] = pieces.count > 1 ? decode(pieces[1]) : ""
        }
        return result
    }

    /// A header control sent as `x-mock-<name>` (forwarded through the gateway with
    /// `x-portkey-forward-headers`).
    static func control(_ request: MockRequest, _ name: String) -> String? {
        request.head.headers.first(name: "x-mock-" + name)
    }

    /// The `x-mock-cut-after: <bytes>` control: how many bytes of a binary answer to send before
    /// dropping the connection.
    static func cutAfter(_ request: MockRequest) throws(APIError) -> Int? {
        guard let text = control(request, "cut-after") else { return nil }
        guard let limit = Int(text.trimmingWhitespace()), limit >= 0 else {
            throw .badRequest("mock control 'cut-after' must be a byte count, got '\(text)'")
        }
        return limit
    }

    /// Applies `x-mock-hold` (keep the last chunk back, see `Holds`) and, when `cut` is set, closes
    /// the connection after the (already shortened) chunks instead of ending the body.
    static func applyStreamControls(to reply: inout Reply, _ request: MockRequest, cut: Bool) {
        guard case .stream(let chunks) = reply.body else { return }
        if cut { reply.cutAfter = chunks.count }
        if let key = control(request, "hold") {
            Holds.open(key)
            reply.holdKey = key
        }
    }

    /// `bytes` as a chunked binary answer honouring `x-mock-cut-after` and `x-mock-hold`, or nil
    /// when neither control is present (the caller then answers with `content-length`).
    static func controlledBinary(_ bytes: [UInt8], contentType: String, chunkBytes: Int, _ request: MockRequest,
                                 allocator: ByteBufferAllocator) throws(APIError) -> Reply? {
        let cut = try cutAfter(request)
        guard cut != nil || control(request, "hold") != nil else { return nil }
        let sent = cut.map { Array(bytes.prefix($0)) } ?? bytes
        var chunks: [ByteBuffer] = []
        var offset = 0
        while offset < sent.count {
            let end = min(offset + chunkBytes, sent.count)
            chunks.append(allocator.buffer(bytes: sent[offset..<end]))
            offset = end
        }
        var reply = Reply(status: .ok, contentType: contentType, body: .stream(chunks))
        applyStreamControls(to: &reply, request, cut: cut != nil)
        return reply
    }

    /// The 404 for an unknown object id, in OpenAI's error shape.
    static func notFound(_ kind: String, _ id: String) -> APIError {
        APIError(status: .notFound, message: "No \(kind) found with id '\(id)'.", openAICode: nil)
    }

    /// OpenAI's cursor page: `{object:"list", data, first_id, last_id, has_more}`.
    static func page(_ data: [[String: Any]], hasMore: Bool) -> [String: Any] {
        [
            "object": "list", "data": data,
            "first_id": (data.first?["id"]).map { $0 } ?? NSNull(),
            "last_id": (data.last?["id"]).map { $0 } ?? NSNull(),
            "has_more": hasMore,
        ]
    }
}
