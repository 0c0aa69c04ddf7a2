import NIOCore
import NIOHTTP1

/// One fully received HTTP request.
struct MockRequest: Sendable {
    let head: HTTPRequestHead
    let body: ByteBuffer

    /// The URI up to `?`, exactly as sent (not percent-decoded).
    var path: Substring {
        guard let mark = head.uri.firstIndex(of: "?") else { return head.uri[...] }
        return head.uri[..<mark]
    }

    /// The raw query string after `?`, or nil when there is none.
    var query: Substring? {
        guard let mark = head.uri.firstIndex(of: "?") else { return nil }
        return head.uri[head.uri.index(after: mark)...]
    }

    /// True when the query has `name=value` (Gemini's `alt=sse`).
    func queryHas(_ name: String, _ value: String) -> Bool {
        guard let query else { return false }
        return query.split(separator: "&").contains { $0 == "\(name)=\(value)" }
    }
}

/// What an endpoint hands back to the router.
enum Outcome: Sendable {
    /// A complete JSON body (status 200 unless overridden).
    case json(ByteBuffer)
    /// A stream, still unframed.
    case stream(StreamPlan)
    /// A finished reply that faults must not alter (echo, errors).
    case reply(Reply)
}

/// Per-request inputs shared by all endpoints.
struct RequestContext {
    let request: MockRequest
    /// The validated JSON body, for endpoints that take one.
    let json: JSONBody
    let controls: MockControls
    /// The process-wide request number, used for ids and `x-mock-request-count`.
    let number: Int
    let allocator: ByteBufferAllocator
    /// Unix time in seconds for `created` fields.
    let created: Int

    /// The answer text selected by the `content`/`chunks` controls.
    let reply: ReplyText

    /// The request's `model` as a raw JSON string literal (copied verbatim, no re-encoding),
    /// or `fallback` when absent.
    func modelLiteral(default fallback: StaticString) throws(APIError) -> ByteBuffer {
        guard let field = json.field("model") else {
            var literal = allocator.buffer(capacity: fallback.utf8CodeUnitCount + 2)
            literal.writeStaticString("\"")
            literal.writeStaticString(fallback)
            literal.writeStaticString("\"")
            return literal
        }
        guard field.kind == .string else {
            throw .badRequest("Invalid type for 'model': expected a string.")
        }
        return json.raw(field)
    }

    /// Decoded `model` string, for places that need the text itself.
    func modelName(default fallback: String) -> String {
        json.string("model") ?? fallback
    }
}
