import NIOCore

/// `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's format.
///
/// The list is fixed; retrieving any id succeeds so SDK calls like `models.retrieve` work
/// for whatever model a test configures.
enum OpenAIModels {
    static let ids = [
        "gpt-4", "gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo", "gpt-3.5-turbo-instruct",
        "text-embedding-3-small", "text-embedding-ada-002",
    ]
    /// A fixed creation time so responses are byte-stable.
    static let created = 1_686_935_002

    static func list(_ allocator: ByteBufferAllocator) -> Outcome {
        var body = allocator.buffer(capacity: 96 * ids.count + 32)
        body.writeStaticString("{\"object\":\"list\",\"data\":[")
        for (index, id) in ids.enumerated() {
            if index > 0 { body.writeStaticString(",") }
            writeModel(id, into: &body)
        }
        body.writeStaticString("]}")
        return .json(body)
    }

    static func retrieve(_ id: String, _ allocator: ByteBufferAllocator) -> Outcome {
        var body = allocator.buffer(capacity: 96)
        writeModel(id, into: &body)
        return .json(body)
    }

    private static func writeModel(_ id: String, into body: inout ByteBuffer) {
        body.writeStaticString("{\"id\":")
        body.writeJSONString(id)
        body.writeStaticString(",\"object\":\"model\",\"created\":")
        body.writeJSONInt(created)
        body.writeStaticString(",\"owned_by\":\"mock\"}")
    }
}
