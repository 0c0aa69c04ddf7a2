import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// OpenAI's Files API, in memory: `POST /v1/files` (multipart), `GET /v1/files`,
/// `GET /v1/files/{id}`, `DELETE /v1/files/{id}`, `GET /v1/files/{id}/content`.
///
/// Reference: OpenAI API reference, Files (https://platform.openai.com/docs/api-reference/files;
/// shapes as in /work/notes/issue19-providers.md §3): the File object is `{id, object:"file", bytes,
/// created_at, expires_at, filename, purpose}` (plus the deprecated `status`/`status_details`
/// that the SDK still reads); list takes `purpose`, `limit`, `order`, `after` and answers
/// `{object:"list", data, first_id, last_id, has_more}`; delete answers `{id, object:"file",
/// deleted:true}`. Not verified: the exact purposes accepted and the error text for unknown ids.
/// Content is served exactly as uploaded, so a test compares bytes.
enum OpenAIFiles {
    struct Record: Sendable {
        var id: String
        var bytes: [UInt8]
        var createdAt: Int
        var expiresAt: Int?
        var filename: String
        var purpose: String

        var object: [String: Any] {
            [
                "id": id, "object": "file", "bytes": bytes.count, "created_at": createdAt,
                "expires_at": expiresAt.map { $0 as Any } ?? NSNull(), "filename": filename, "purpose": purpose,
                "status": "processed", "status_details": NSNull(),
            ]
        }
    }

    static let purposes: Set<String> = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
    /// Files in upload order, and the next id number.
    static let store = Mutex<(records: [Record], next: Int)>(([], 1))

    /// Adds a file (also used for batch output) and returns it.
    static func add(bytes: [UInt8], filename: String, purpose: String, expiresAfter: Int? = nil) -> Record {
        store.withLock { state in
            let now = Int(Date().timeIntervalSince1970)
            let record = Record(
                id: String(format: "file-mock%015d", state.next), bytes: bytes, createdAt: now,
                expiresAt: expiresAfter.map { now + $0 }, filename: filename, purpose: purpose)
            state.next += 1
            state.records.append(record)
            return record
        }
    }

    static func find(_ id: String) -> Record? {
        store.withLock { $0.records.first { $0.id == id } }
    }

    static func upload(_ request: MockRequest, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let form = try FormData(request)
        let file = try form.file("file")
        guard let purpose = form.field("purpose") else { throw .badRequest("'purpose' is a required property") }
        guard purposes.contains(purpose) else {
            throw .badRequest("Invalid 'purpose': '\(purpose)'; expected one of \(purposes.sorted().joined(separator: ", ")).")
        }
        var expiresAfter: Int?
        if let anchor = form.field("expires_after[anchor]") {
            guard anchor == "created_at" else { throw .badRequest("Invalid 'expires_after[anchor]': expected 'created_at'.") }
            guard let seconds = try form.int("expires_after[seconds]"), (3600...2_592_000).contains(seconds) else {
                throw .badRequest("Invalid 'expires_after[seconds]': expected an integer between 3600 and 2592000.")
            }
            expiresAfter = seconds
        }
        let record = add(bytes: file.body, filename: file.filename ?? "upload", purpose: purpose, expiresAfter: expiresAfter)
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    static func list(_ request: MockRequest, allocator: ByteBufferAllocator) -> Outcome {
        let query = EndpointSupport.query(request)
        var records = store.withLock { $0.records }
        if let purpose = query["purpose"] { records = records.filter { $0.purpose == purpose } }
        if query["order"] != "asc" { records.reverse() }
        if let after = query["after"], let index = records.firstIndex(where: { $0.id == after }) {
            records = Array(records[(index + 1)...])
        }
        let limit = max(1, min(Int(query["limit"] ?? "") ?? 10_000, 10_000))
        let page = Array(records.prefix(limit))
        return EndpointSupport.json(EndpointSupport.page(page.map(\.object), hasMore: records.count > page.count), allocator: allocator)
    }

    static func retrieve(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let record = find(id) else { throw EndpointSupport.notFound("file", id) }
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    static func delete(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let removed = store.withLock { state in
            guard let index = state.records.firstIndex(where: { $0.id == id }) else { return false }
            state.records.remove(at: index)
            return true
        }
        guard removed else { throw EndpointSupport.notFound("file", id) }
        return EndpointSupport.json(["id": id, "object": "file", "deleted": true], allocator: allocator)
    }

    /// The bytes as uploaded; with `x-mock-hold` or `x-mock-cut-after` they go chunked (64 KiB
    /// chunks), so a test can check the gateway relays a download as it arrives.
    static func content(_ id: String, _ request: MockRequest, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let record = find(id) else { throw EndpointSupport.notFound("file", id) }
        if let reply = try EndpointSupport.controlledBinary(
            record.bytes, contentType: "application/octet-stream", chunkBytes: 65_536, request, allocator: allocator) {
            return .reply(reply)
        }
        return .reply(Reply(status: .ok, contentType: "application/octet-stream", body: .full(allocator.buffer(bytes: record.bytes))))
    }
}
