/// The error shape a client of an endpoint parses: OpenAI's for chat, completions, embeddings and
/// models; the Messages dialect's for `/v1/messages`; the provider's own for passthrough paths,
/// whose clients speak the provider's API (so those errors are relayed as they are).
public enum ClientDialect: Sendable {
    case openAI
    case messages
    case provider

    public init(_ endpoint: Endpoint) {
        switch endpoint {
        case .messages, .countTokens: self = .messages
        case .passthrough: self = .provider
        case .chatCompletions, .completions, .embeddings, .models, .responses,
             .imageGenerations, .imageEdits, .imageVariations, .speech, .transcriptions, .translations, .rerank, .moderations, .files, .batches, .realtime:
            self = .openAI
        }
    }

    /// The error as this dialect's clients expect it (OpenAI's shape for passthrough paths, where
    /// the gateway's own errors have no other shape to take).
    public func errorBody(_ error: GatewayError) -> [UInt8] {
        self == .messages ? error.messagesBody : error.body
    }

    /// Whether an upstream error body of `shape` (see ``UpstreamErrorBody/parse(status:body:provider:)``)
    /// can reach this dialect's clients as it is. Always for passthrough.
    func accepts(errorShape shape: ClientDialect?) -> Bool {
        self == .provider || shape == self
    }
}
