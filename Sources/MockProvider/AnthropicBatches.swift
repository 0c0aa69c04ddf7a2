import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Anthropic's Message Batches API, in memory: `POST /v1/messages/batches`,
/// `GET /v1/messages/batches[/{id}]`, `POST …/{id}/cancel`, `DELETE …/{id}`, `GET …/{id}/results`.
///
/// Reference: Anthropic API reference, Message Batches
/// (https://platform.claude.com/docs/en/api/messages/batches, as summarised in
/// /work/notes/issue19-providers.md §3 "Batches"): the batch object `{id, type:"message_batch",
/// processing_status, request_counts:{processing, succeeded, errored, canceled, expired}, ended_at,
/// created_at, expires_at, archived_at, cancel_initiated_at, results_url}` with RFC 3339 times;
/// results are JSONL `{custom_id, result:{type: succeeded|errored|canceled, message | error}}`;
/// list takes `before_id`, `after_id`, `limit` and answers `{data, has_more, first_id, last_id}`.
/// Not verified: what cancelling or deleting a batch in the wrong state answers (here: 400).
///
/// Every request is answered at once through the mock's own `/v1/messages`; with
/// `x-mock-batch-hold: true` the batch stays `in_progress` until cancelled.
enum AnthropicBatches {
    struct Record: Sendable {
        var id: String
        var status: String
        var createdAt: Date
        var endedAt: Date?
        var cancelAt: Date?
        var counts = (processing: 0, succeeded: 0, errored: 0, canceled: 0)
        var results: [UInt8] = []
        var resultsURL: String
        /// The custom ids, for cancelling a held batch.
        var customIDs: [String] = []

        var object: [String: Any] {
            [
                "id": id, "type": "message_batch", "processing_status": status,
                "request_counts": [
                    "processing": counts.processing, "succeeded": counts.succeeded, "errored": counts.errored,
                    "canceled": counts.canceled, "expired": 0,
                ],
                "ended_at": endedAt.map { AnthropicBatches.time($0) as Any } ?? NSNull(),
                "created_at": AnthropicBatches.time(createdAt),
                "expires_at": AnthropicBatches.time(createdAt.addingTimeInterval(86_400)),
                "archived_at": NSNull(),
                "cancel_initiated_at": cancelAt.map { AnthropicBatches.time($0) as Any } ?? NSNull(),
                "results_url": status == "ended" ? resultsURL as Any : NSNull(),
            ]
        }
    }

    static let store = Mutex<(records: [Record], next: Int)>(([], 1))

    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func create(_ json: JSONBody, _ request: MockRequest, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let requests = json.decode("requests") as? [Any], !requests.isEmpty, requests.count <= 100_000 else {
            throw .badRequest("requests: expected between 1 and 100000 items")
        }
        var items: [(customID: String, params: Data)] = []
        var seen = Set<String>()
        for case let item as [String: Any] in requests {
            guard let customID = item["custom_id"] as? String, !customID.isEmpty else {
                throw .badRequest("requests: every item needs a custom_id")
            }
            guard seen.insert(customID).inserted else { throw .badRequest("requests: duplicate custom_id '\(customID)'") }
            guard var params = item["params"] as? [String: Any] else { throw .badRequest("requests.\(customID): params is required") }
            if params["stream"] as? Bool == true { throw .badRequest("requests.\(customID): stream is not supported in batches") }
            params.removeValue(forKey: "stream")
            guard let encoded = try? JSONSerialization.data(withJSONObject: params) else { throw .badRequest("requests.\(customID): bad params") }
            items.append((customID, encoded))
        }
        guard items.count == requests.count else { throw .badRequest("requests: every item must be an object") }
        let host = request.head.headers.first(name: "host") ?? "127.0.0.1"
        var record = store.withLock { state in
            defer { state.next += 1 }
            let id = String(format: "msgbatch_mock%015d", state.next)
            return Record(id: id, status: "in_progress", createdAt: Date(),
                          resultsURL: "http://\(host)/v1/messages/batches/\(id)/results")
        }
        record.customIDs = items.map(\.customID)
        let hold = EndpointSupport.control(request, "batch-hold").map { $0.lowercased() == "true" } ?? false
        if hold {
            record.counts.processing = items.count
        } else {
            for item in items {
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/messages")
                head.headers.add(name: "content-type", value: "application/json")
                let reply = Router.reply(for: MockRequest(head: head, body: allocator.buffer(bytes: item.params)), allocator: allocator)
                var answer: Any = NSNull()
                if case .full(let bytes) = reply.body {
                    answer = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) ?? NSNull()
                }
                let result: [String: Any]
                if reply.status.code < 300 {
                    result = ["type": "succeeded", "message": answer]
                    record.counts.succeeded += 1
                } else {
                    result = ["type": "errored", "error": answer]
                    record.counts.errored += 1
                }
                record.results += line(["custom_id": item.customID, "result": result])
            }
            record.status = "ended"
            record.endedAt = Date()
        }
        let stored = record
        store.withLock { $0.records.append(stored) }
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    private static func line(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()) + [10]
    }

    private static func notFound(_ id: String) -> APIError {
        APIError(status: .notFound, message: "No message batch found with id '\(id)'.")
    }

    static func retrieve(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let record = store.withLock({ $0.records.first { $0.id == id } }) else { throw notFound(id) }
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    static func cancel(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let result = store.withLock { state -> (Record?, String?) in
            guard let index = state.records.firstIndex(where: { $0.id == id }) else { return (nil, nil) }
            var record = state.records[index]
            guard record.status == "in_progress" else { return (nil, record.status) }
            // Nothing of a held batch ran, so every request ends canceled.
            record.cancelAt = Date()
            record.status = "ended"
            record.endedAt = Date()
            record.counts = (0, 0, 0, record.customIDs.count)
            for customID in record.customIDs {
                record.results += line(["custom_id": customID, "result": ["type": "canceled"]])
            }
            state.records[index] = record
            return (record, nil)
        }
        if let status = result.1 { throw .badRequest("Cannot cancel a message batch whose processing_status is '\(status)'.") }
        guard let record = result.0 else { throw notFound(id) }
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    static func delete(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let result = store.withLock { state -> (Bool, String?) in
            guard let index = state.records.firstIndex(where: { $0.id == id }) else { return (false, nil) }
            guard state.records[index].status == "ended" else { return (false, state.records[index].status) }
            state.records.remove(at: index)
            return (true, nil)
        }
        if let status = result.1 { throw .badRequest("A message batch must end before it is deleted (it is '\(status)').") }
        guard result.0 else { throw notFound(id) }
        return EndpointSupport.json(["id": id, "type": "message_batch_deleted"], allocator: allocator)
    }

    static func results(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let record = store.withLock({ $0.records.first { $0.id == id } }) else { throw notFound(id) }
        guard record.status == "ended" else { throw .badRequest("The results of message batch '\(id)' are not ready.") }
        return .reply(Reply(status: .ok, contentType: "application/x-jsonl", body: .full(allocator.buffer(bytes: record.results))))
    }

    static func list(_ request: MockRequest, allocator: ByteBufferAllocator) -> Outcome {
        let query = EndpointSupport.query(request)
        var records = Array(store.withLock { $0.records }.reversed())
        if let after = query["after_id"], let index = records.firstIndex(where: { $0.id == after }) {
            records = Array(records[(index + 1)...])
        }
        if let before = query["before_id"], let index = records.firstIndex(where: { $0.id == before }) {
            records = Array(records[..<index])
        }
        let limit = max(1, min(Int(query["limit"] ?? "") ?? 20, 1000))
        let page = Array(records.prefix(limit))
        let data = page.map(\.object)
        let object: [String: Any] = [
            "data": data, "has_more": records.count > page.count,
            "first_id": page.first.map { $0.id as Any } ?? NSNull(), "last_id": page.last.map { $0.id as Any } ?? NSNull(),
        ]
        return EndpointSupport.json(object, allocator: allocator)
    }
}
