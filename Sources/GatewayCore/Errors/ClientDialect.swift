import FoundationEssentials
public import NIOCore

/// The error shape a client of an endpoint parses: OpenAI's for chat, completions, embeddings and
/// models; the Messages dialect's for `/v1/messages`; the provider's own for passthrough paths,
/// whose clients speak the provider's API (so those errors are relayed as they are).
public enum ClientDialect: Sendable {
    case openAI
    case messages
    case provider

    public init(_ endpoint: Endpoint) {
        switch endpoint {
        case .messages: self = .messages
        case .passthrough: self = .provider
        case .chatCompletions, .completions, .embeddings, .models: self = .openAI
        }
    }

    /// The error as this dialect's clients expect it (OpenAI's shape for passthrough paths, where
    /// the gateway's own errors have no other shape to take).
    public func errorBody(_ error: GatewayError) -> [UInt8] {
        self == .messages ? error.messagesBody : error.body
    }

    /// Whether an upstream error body is already in this dialect's shape: OpenAI's
    /// `{"error":{"message":…}}`, or `{"type":"error","error":{…}}`. Always true for passthrough.
    public func isErrorBody(_ body: ByteBuffer) -> Bool {
        switch self {
        case .provider:
            return true
        case .openAI:
            return UpstreamErrorBody.parse(status: 400, body: body, provider: "").1
        case .messages:
            guard let object = try? JSONDecoder().decode([String: LooseJSON].self, from: Data(body.readableBytesView)),
                  case .string("error")? = object["type"], case .object? = object["error"] else { return false }
            return true
        }
    }
}
