import NIOCore
import NIOHTTP1

/// The endpoints added for issue 19 (images, audio, rerank, moderations, files, batches) and the
/// mock's hold control, matched apart from `Route` so the shared routing table only gains one case.
enum ExtraRoute: Sendable {
    case imageGenerations, imageEdits, imageVariations
    case speech, transcriptions, translations
    case rerank
    case moderations
    case uploadFile, listFiles, retrieveFile(String), deleteFile(String), fileContent(String)
    case createBatch, listBatches, retrieveBatch(String), cancelBatch(String)
    case createMessageBatch, listMessageBatches, retrieveMessageBatch(String), cancelMessageBatch(String)
    case deleteMessageBatch(String), messageBatchResults(String)
    /// `GET /mock/holds/<key>`: where a held stream is (see `Holds`).
    case holdState(String)
    /// `POST /mock/holds/<key>/release`: lets a held stream send its last chunk.
    case releaseHold(String)

    /// The route for `path`, `.methodNotAllowed` for a known path with another method, or nil
    /// when the path is not one of these.
    static func match(method: HTTPMethod, path: Substring) -> Route? {
        // Cheap exit for everything else (Gemini's /v1beta paths, fixtures, echo).
        guard path.hasPrefix("/v1/") || path.hasPrefix("/v2/") || path.hasPrefix("/mock/holds/") else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        func on(_ wanted: HTTPMethod, _ route: ExtraRoute, _ dialect: Dialect = .openAI) -> Route {
            method == wanted ? .extra(route) : .methodNotAllowed(dialect)
        }
        switch segments.count {
        case 2 where segments[0] == "v2" && segments[1] == "rerank":
            return on(.POST, .rerank)
        case 2 where segments[0] == "v1":
            switch segments[1] {
            case "rerank": return on(.POST, .rerank)
            case "moderations": return on(.POST, .moderations)
            case "files": return method == .GET ? .extra(.listFiles) : on(.POST, .uploadFile)
            case "batches": return method == .GET ? .extra(.listBatches) : on(.POST, .createBatch)
            default: return nil
            }
        case 3 where segments[0] == "v1":
            switch (segments[1], segments[2]) {
            case ("images", "generations"): return on(.POST, .imageGenerations)
            case ("images", "edits"): return on(.POST, .imageEdits)
            case ("images", "variations"): return on(.POST, .imageVariations)
            case ("audio", "speech"): return on(.POST, .speech)
            case ("audio", "transcriptions"): return on(.POST, .transcriptions)
            case ("audio", "translations"): return on(.POST, .translations)
            case ("messages", "batches"):
                return method == .GET ? .extra(.listMessageBatches) : on(.POST, .createMessageBatch, .anthropic)
            case ("files", let id):
                return method == .DELETE ? .extra(.deleteFile(id)) : on(.GET, .retrieveFile(id))
            case ("batches", let id):
                return on(.GET, .retrieveBatch(id))
            default: return nil
            }
        case 3 where segments[0] == "mock" && segments[1] == "holds":
            return on(.GET, .holdState(segments[2]))
        case 4 where segments[0] == "mock" && segments[1] == "holds" && segments[3] == "release":
            return on(.POST, .releaseHold(segments[2]))
        case 4 where segments[0] == "v1":
            switch (segments[1], segments[3]) {
            case ("files", "content"): return on(.GET, .fileContent(segments[2]))
            case ("batches", "cancel"): return on(.POST, .cancelBatch(segments[2]))
            case ("messages", _) where segments[2] == "batches":
                let id = segments[3]
                return method == .DELETE
                    ? .extra(.deleteMessageBatch(id)) : on(.GET, .retrieveMessageBatch(id), .anthropic)
            default: return nil
            }
        case 5 where segments[0] == "v1" && segments[1] == "messages" && segments[2] == "batches":
            switch segments[4] {
            case "cancel": return on(.POST, .cancelMessageBatch(segments[3]), .anthropic)
            case "results": return on(.GET, .messageBatchResults(segments[3]), .anthropic)
            default: return nil
            }
        default:
            return nil
        }
    }

    var dialect: Dialect {
        switch self {
        case .createMessageBatch, .listMessageBatches, .retrieveMessageBatch, .cancelMessageBatch,
             .deleteMessageBatch, .messageBatchResults:
            .anthropic
        default:
            .openAI
        }
    }

    /// Endpoints whose body must be a JSON object.
    var takesJSON: Bool {
        switch self {
        case .imageGenerations, .speech, .rerank, .moderations, .createBatch, .createMessageBatch: true
        default: false
        }
    }

    /// Answers the request.
    func run(
        _ request: MockRequest,
        _ json: JSONBody?,
        _ controls: MockControls,
        _ number: Int,
        _ allocator: ByteBufferAllocator
    ) throws(APIError) -> Outcome {
        func body() throws(APIError) -> JSONBody {
            guard let json else { throw .badRequest("The request body must be a JSON object.") }
            return json
        }
        switch self {
        case .imageGenerations: return try OpenAIImages.generate(try body(), number: number, allocator: allocator)
        case .imageEdits: return try OpenAIImages.edit(request, variation: false, allocator: allocator)
        case .imageVariations: return try OpenAIImages.edit(request, variation: true, allocator: allocator)
        case .speech: return try OpenAIAudio.speech(request, try body(), allocator: allocator)
        case .transcriptions: return try OpenAIAudio.transcribe(request, translate: false, allocator: allocator)
        case .translations: return try OpenAIAudio.transcribe(request, translate: true, allocator: allocator)
        case .rerank: return try Rerank.respond(try body(), number: number, allocator: allocator)
        case .moderations: return try Moderations.respond(try body(), number: number, allocator: allocator)
        case .uploadFile: return try OpenAIFiles.upload(request, allocator: allocator)
        case .listFiles: return OpenAIFiles.list(request, allocator: allocator)
        case .retrieveFile(let id): return try OpenAIFiles.retrieve(id, allocator: allocator)
        case .deleteFile(let id): return try OpenAIFiles.delete(id, allocator: allocator)
        case .fileContent(let id): return try OpenAIFiles.content(id, request, allocator: allocator)
        case .createBatch: return try OpenAIBatches.create(try body(), request, allocator: allocator)
        case .listBatches: return OpenAIBatches.list(request, allocator: allocator)
        case .retrieveBatch(let id): return try OpenAIBatches.retrieve(id, allocator: allocator)
        case .cancelBatch(let id): return try OpenAIBatches.cancel(id, allocator: allocator)
        case .createMessageBatch: return try AnthropicBatches.create(try body(), request, allocator: allocator)
        case .listMessageBatches: return AnthropicBatches.list(request, allocator: allocator)
        case .retrieveMessageBatch(let id): return try AnthropicBatches.retrieve(id, allocator: allocator)
        case .cancelMessageBatch(let id): return try AnthropicBatches.cancel(id, allocator: allocator)
        case .deleteMessageBatch(let id): return try AnthropicBatches.delete(id, allocator: allocator)
        case .messageBatchResults(let id): return try AnthropicBatches.results(id, allocator: allocator)
        case .holdState(let key): return EndpointSupport.json(Holds.describe(key), allocator: allocator)
        case .releaseHold(let key):
            Holds.release(key)
            return EndpointSupport.json(Holds.describe(key), allocator: allocator)
        }
    }
}
