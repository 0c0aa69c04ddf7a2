import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// OpenAI's Batch API, in memory: `POST /v1/batches`, `GET /v1/batches/{id}`,
/// `POST /v1/batches/{id}/cancel`, `GET /v1/batches`.
///
/// Reference: OpenAI API reference, Batch (https://platform.openai.com/docs/api-reference/batch;
/// shapes as in /work/notes/issue19-providers.md §3). The Batch object, its statuses and
/// `request_counts`; input lines `{custom_id, method, url, body}`; output lines `{id, custom_id,
/// response:{status_code, request_id, body}, error}`, requests answered with an error status going
/// to the error file. Not verified: the error code names for invalid input lines and what
/// cancelling a finished batch answers (here: 400).
///
/// The mock runs every line at once through its own router (the answer a direct request to the
/// mock would get), writes the output file into `OpenAIFiles` and reports `completed`. With the
/// control `x-mock-batch-hold: true` a batch stays `in_progress` (nothing run) until cancelled,
/// so a test can cancel a running batch; it then reads `cancelling`, and `cancelled` afterwards.
enum OpenAIBatches {
    static let endpoints: Set<String> = ["/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/responses", "/v1/moderations"]

    struct Record: Sendable {
        var id: String
        var endpoint: String
        var inputFileID: String
        var completionWindow: String
        var status: String
        var createdAt: Int
        var times: [String: Int] = [:]
        var outputFileID: String?
        var errorFileID: String?
        var counts = (total: 0, completed: 0, failed: 0)
        var errors: [Problem]?
        var metadataJSON: Data?

        var object: [String: Any] {
            var object: [String: Any] = [
                "id": id, "object": "batch", "endpoint": endpoint, "input_file_id": inputFileID,
                "completion_window": completionWindow, "status": status, "created_at": createdAt,
                "expires_at": createdAt + 86_400,
                "output_file_id": outputFileID ?? NSNull(), "error_file_id": errorFileID ?? NSNull(),
                "request_counts": ["total": counts.total, "completed": counts.completed, "failed": counts.failed],
                "errors": errors.map { ["object": "list", "data": $0.map(\.object)] as Any } ?? NSNull(),
                "metadata": metadataJSON.flatMap { try? JSONSerialization.jsonObject(with: $0) } ?? NSNull(),
            ]
            for name in ["in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at"] {
                object[name] = times[name] ?? NSNull()
            }
            return object
        }
    }

    /// One invalid input line, as reported in the batch's `errors`.
    struct Problem: Sendable {
        var code: String
        var message: String
        var line: Int?

        var object: [String: Any] {
            ["code": code, "message": message, "param": NSNull(), "line": line.map { $0 as Any } ?? NSNull()]
        }
    }

    static let store = Mutex<(records: [Record], next: Int)>(([], 1))

    static func create(_ json: JSONBody, _ request: MockRequest, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        guard let inputFileID = json.string("input_file_id") else { throw .badRequest("'input_file_id' is a required property") }
        guard let endpoint = json.string("endpoint") else { throw .badRequest("'endpoint' is a required property") }
        guard endpoints.contains(endpoint) else {
            throw .badRequest("Invalid 'endpoint': '\(endpoint)'; expected one of \(endpoints.sorted().joined(separator: ", ")).")
        }
        let window = json.string("completion_window") ?? ""
        guard window == "24h" else { throw .badRequest("Invalid 'completion_window': expected '24h'.") }
        var metadata: Data?
        if let field = json.field("metadata"), field.kind != .null {
            guard field.kind == .object else { throw .badRequest("Invalid 'metadata': expected an object.") }
            metadata = Data(json.raw(field).readableBytesView)
        }
        guard let input = OpenAIFiles.find(inputFileID) else {
            throw .badRequest("Invalid 'input_file_id': no file with id '\(inputFileID)'.")
        }
        let now = Int(Date().timeIntervalSince1970)
        var record = store.withLock { state in
            defer { state.next += 1 }
            return Record(id: String(format: "batch_mock%015d", state.next), endpoint: endpoint, inputFileID: inputFileID,
                          completionWindow: window, status: "validating", createdAt: now, metadataJSON: metadata)
        }
        let hold = EndpointSupport.control(request, "batch-hold").map { $0.lowercased() == "true" } ?? false
        run(&record, lines: input.bytes, hold: hold, now: now, allocator: allocator)
        let stored = record
        store.withLock { $0.records.append(stored) }
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    /// Validates the input lines and, unless held, answers each one through the mock's router.
    private static func run(_ record: inout Record, lines input: [UInt8], hold: Bool, now: Int, allocator: ByteBufferAllocator) {
        var requests: [(customID: String, body: Data)] = []
        var errors: [Problem] = []
        var seen = Set<String>()
        for (number, line) in input.split(separator: UInt8(ascii: "\n")).enumerated() {
            let lineNumber = number + 1
            func invalid(_ code: String, _ message: String) {
                errors.append(Problem(code: code, message: message, line: lineNumber))
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                invalid("invalid_json_line", "Line \(lineNumber) is not a JSON object.")
                continue
            }
            guard let customID = object["custom_id"] as? String else {
                invalid("missing_required_parameter", "Line \(lineNumber) has no 'custom_id'.")
                continue
            }
            guard seen.insert(customID).inserted else {
                invalid("duplicate_custom_id", "Line \(lineNumber) repeats custom_id '\(customID)'.")
                continue
            }
            guard (object["method"] as? String) == "POST" else {
                invalid("invalid_method", "Line \(lineNumber): method must be POST.")
                continue
            }
            guard (object["url"] as? String) == record.endpoint else {
                invalid("mismatched_url", "Line \(lineNumber): url must be the batch's endpoint \(record.endpoint).")
                continue
            }
            guard let body = object["body"] as? [String: Any],
                  let encoded = try? JSONSerialization.data(withJSONObject: body) else {
                invalid("invalid_request", "Line \(lineNumber) has no 'body' object.")
                continue
            }
            requests.append((customID, encoded))
        }
        if requests.isEmpty, errors.isEmpty {
            errors.append(Problem(code: "empty_file", message: "The input file has no requests.", line: nil))
        }
        guard errors.isEmpty else {
            record.status = "failed"
            record.errors = errors
            record.times["failed_at"] = now
            return
        }
        record.counts.total = requests.count
        record.times["in_progress_at"] = now
        guard !hold else {
            record.status = "in_progress"
            return
        }
        var output: [UInt8] = []
        var failures: [UInt8] = []
        for (index, request) in requests.enumerated() {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: record.endpoint)
            head.headers.add(name: "content-type", value: "application/json")
            let reply = Router.reply(for: MockRequest(head: head, body: allocator.buffer(bytes: request.body)), allocator: allocator)
            let status = Int(reply.status.code)
            var answer: Any = NSNull()
            if case .full(let bytes) = reply.body {
                answer = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) ?? String(buffer: bytes)
            }
            let line: [String: Any] = [
                "id": "batch_req_\(record.id.dropFirst(6))_\(index)", "custom_id": request.customID,
                "response": ["status_code": status, "request_id": "req_mock_\(index)", "body": answer],
                "error": NSNull(),
            ]
            let encoded = (try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            if (200..<300).contains(status) {
                output += encoded + [UInt8(ascii: "\n")]
                record.counts.completed += 1
            } else {
                failures += encoded + [UInt8(ascii: "\n")]
                record.counts.failed += 1
            }
        }
        if record.counts.completed > 0 {
            record.outputFileID = OpenAIFiles.add(bytes: output, filename: "\(record.id)_output.jsonl", purpose: "batch_output").id
        }
        if record.counts.failed > 0 {
            record.errorFileID = OpenAIFiles.add(bytes: failures, filename: "\(record.id)_error.jsonl", purpose: "batch_output").id
        }
        record.status = "completed"
        record.times["finalizing_at"] = now
        record.times["completed_at"] = now
    }

    static func retrieve(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let record = store.withLock { state -> Record? in
            guard let index = state.records.firstIndex(where: { $0.id == id }) else { return nil }
            if state.records[index].status == "cancelling" {  // a cancel completes by the next look
                state.records[index].status = "cancelled"
                state.records[index].times["cancelled_at"] = Int(Date().timeIntervalSince1970)
            }
            return state.records[index]
        }
        guard let record else { throw EndpointSupport.notFound("batch", id) }
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    static func cancel(_ id: String, allocator: ByteBufferAllocator) throws(APIError) -> Outcome {
        let result = store.withLock { state -> (Record?, String?) in
            guard let index = state.records.firstIndex(where: { $0.id == id }) else { return (nil, nil) }
            let status = state.records[index].status
            guard status == "in_progress" || status == "validating" else { return (nil, status) }
            state.records[index].status = "cancelling"
            state.records[index].times["cancelling_at"] = Int(Date().timeIntervalSince1970)
            return (state.records[index], nil)
        }
        if let status = result.1 { throw .badRequest("Cannot cancel a batch with status '\(status)'.") }
        guard let record = result.0 else { throw EndpointSupport.notFound("batch", id) }
        return EndpointSupport.json(record.object, allocator: allocator)
    }

    static func list(_ request: MockRequest, allocator: ByteBufferAllocator) -> Outcome {
        let query = EndpointSupport.query(request)
        var records = Array(store.withLock { $0.records }.reversed())
        if let after = query["after"], let index = records.firstIndex(where: { $0.id == after }) {
            records = Array(records[(index + 1)...])
        }
        let limit = max(1, min(Int(query["limit"] ?? "") ?? 20, 100))
        let page = Array(records.prefix(limit))
        return EndpointSupport.json(EndpointSupport.page(page.map(\.object), hasMore: records.count > page.count), allocator: allocator)
    }
}
