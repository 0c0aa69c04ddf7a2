public import GatewayCore
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore

/// The gateway's HTTP front: one responder that dispatches on the path itself, so unknown routes
/// and wrong methods get precise OpenAI-shaped errors (404 vs 405) and the hot path pays for no
/// router tree.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let gateway: Gateway
    let logger: Logger

    public init(gateway: Gateway, logger: Logger) {
        self.gateway = gateway
        self.logger = logger
    }

    /// Standard endpoints and the one method each accepts.
    static let routes: [String: (Endpoint, HTTPRequest.Method)] = [
        "/v1/chat/completions": (.chatCompletions, .post),
        "/v1/completions": (.completions, .post),
        "/v1/embeddings": (.embeddings, .post),
        "/v1/models": (.models, .get),
    ]

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path == "/" || path == "/health" {
            guard request.method == .get || request.method == .head else {
                return errorResponse(.methodNotAllowed(method: request.method.rawValue, path: path, allowed: ["GET"]),
                                     traceID: nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        let endpoint: Endpoint
        if let (known, method) = Self.routes[path] {
            guard request.method == method else {
                return errorResponse(
                    .methodNotAllowed(method: request.method.rawValue, path: path, allowed: [method.rawValue]),
                    traceID: nil)
            }
            endpoint = known
        } else if path.hasPrefix("/v1/") {
            endpoint = .passthrough
        } else {
            return errorResponse(.notFound(method: request.method.rawValue, path: path), traceID: nil)
        }

        let options: RequestOptions
        do {
            options = try RequestOptions.parse(request.headers, policy: gateway.settings.hostPolicy)
        } catch {
            return errorResponse(error, traceID: request.headers[.portkeyTraceID])
        }

        var request = request
        var body: ByteBuffer?
        if request.method != .get && request.method != .head {
            do {
                body = try await readBody(&request)
            } catch {
                return errorResponse(error, traceID: options.traceID)
            }
        }

        let incoming = IncomingRequest(
            endpoint: endpoint, method: request.method, path: String(path.dropFirst(3)),
            query: request.uri.query ?? "", headers: request.headers, body: body)
        do {
            let result = try await gateway.handle(incoming, options: options)
            return response(result, options: options)
        } catch {
            return errorResponse(error, traceID: options.traceID, provider: options.provider)
        }
    }

    private func readBody(_ request: inout Request) async throws(GatewayError) -> ByteBuffer {
        let limit = gateway.settings.maxRequestBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .bodyTooLarge(limit: limit)
        }
        do {
            return try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw .bodyTooLarge(limit: limit)
        } catch {
            throw GatewayError(status: 400, type: "invalid_request_error",
                               message: "could not read the request body: \(error)", code: "invalid_body")
        }
    }

    private func response(_ result: GatewayResponse, options: RequestOptions) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(result.headers.count + 2)
        for (name, value) in result.headers {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        headers[.portkeyProvider] = options.provider
        headers[.portkeyTraceID] = options.traceID
        let status = HTTPResponse.Status(code: result.status)
        switch result.body {
        case .buffer(let buffer):
            return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
        case .stream(let upstream):
            let provider = options.provider ?? "provider"
            let logger = self.logger
            let traceID = options.traceID
            return Response(status: status, headers: headers, body: ResponseBody { writer in
                do {
                    for try await chunk in upstream {
                        do {
                            try await writer.write(chunk)
                        } catch {
                            // The client went away. Leaving the loop ends the upstream stream, which
                            // closes the upstream connection: the upstream request is cancelled.
                            logger.info("client disconnected mid-stream; upstream request cancelled",
                                        metadata: ["provider": "\(provider)", "trace_id": "\(traceID)"])
                            return
                        }
                    }
                } catch {
                    // Bytes already reached the client, so the status cannot change: end the stream
                    // with an error event in OpenAI's shape, which the SDKs raise as an APIError.
                    logger.warning("upstream stream failed", metadata: ["provider": "\(provider)", "error": "\(error)"])
                    let failure = GatewayError.upstreamBroken(provider: provider, reason: "the stream was interrupted")
                    var event = ByteBuffer(string: "data: ")
                    event.writeBytes(failure.body)
                    event.writeString("\n\n")
                    try? await writer.write(event)
                }
                try await writer.finish(nil)
            })
        }
    }

    private func errorResponse(_ error: GatewayError, traceID: String?, provider: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        for (name, value) in error.headers {
            if let fieldName = HTTPField.Name(name) { headers[fieldName] = value }
        }
        if let traceID { headers[.portkeyTraceID] = traceID }
        if let provider { headers[.portkeyProvider] = provider }
        return Response(status: HTTPResponse.Status(code: error.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: error.body)))
    }
}

extension HTTPField.Name {
    static let portkeyProvider = Self("x-portkey-provider")!
    static let portkeyTraceID = Self("x-portkey-trace-id")!
}
