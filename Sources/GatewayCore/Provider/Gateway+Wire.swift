import Logging
import LuaRuntime
import NIOCore
import NIOHTTP1

/// What crosses the wire on a provider call: the request body check, the upstream request's and
/// the client's headers, and transport failures as the client's errors.
extension Gateway {
    /// Rejects malformed JSON before anything goes upstream, without building a tree; returns the
    /// scan and the body's `model` (a JSON body's top-level field, or a multipart form's field).
    func validateBody(_ request: IncomingRequest) throws(GatewayError) -> (scan: JSONScan?, model: String?) {
        let needsJSON: Bool
        switch request.endpoint.bodyKind {
        case .json:
            needsJSON = true
        case .multipart:
            return (nil, try MultipartForm.model(of: request))
        case .any:
            guard request.endpoint != .models, let body = request.body, body.readableBytes > 0 else { return (nil, nil) }
            let contentType = request.headers.first(name: "content-type") ?? ""
            if contentType.utf8.count >= 19, contentType.prefix(19).lowercased() == "multipart/form-data" {
                // An upload (`/v1/files`): relayed as it is; its model field, if any, is read.
                return (nil, try MultipartForm.model(of: request))
            }
            guard Self.mentionsJSON(contentType) else { return (nil, nil) }
            needsJSON = false
        }
        guard let body = request.body, body.readableBytes > 0 else {
            if needsJSON {
                throw GatewayError(status: 400, type: .invalidRequest,
                                   message: "the request body is empty; expected a JSON object", code: .invalidJson)
            }
            return (nil, nil)
        }
        let result = body.withUnsafeReadableBytes { bytes in Result { () throws(JSONScan.Failure) in try JSONScan.scan(bytes) } }
        switch result {
        case .success(let scan):
            if needsJSON && !scan.isObject { throw .bodyNotObject() }
            return (scan, scan.model)
        case .failure(let failure):
            throw .invalidJSON(failure)
        }
    }

    /// Whether a content type names JSON (`application/json`, `…+json`, any case), read byte by byte:
    /// `lowercased().contains("json")` cost ~20k instructions per translated request (callgrind).
    static func mentionsJSON(_ contentType: String) -> Bool {
        var matched = 0
        for byte in contentType.utf8 {
            let lower = byte | 0x20
            let expected: UInt8 = matched == 0 ? 0x6A : matched == 1 ? 0x73 : matched == 2 ? 0x6F : 0x6E  // j s o n
            if lower == expected {
                matched += 1
                if matched == 4 { return true }
            } else {
                matched = lower == 0x6A ? 1 : 0
            }
        }
        return false
    }

    /// Headers that never travel between hops.
    /// Hop-by-hop and framing headers, never relayed either way; `name` in lowercase. Matched by
    /// length, then by comparison: no hashing per header of every request and answer.
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return name == "te"
        case 4: return name == "host"
        case 7: return name == "trailer" || name == "upgrade"
        case 10: return name == "connection" || name == "keep-alive"
        case 14: return name == "content-length"
        case 16: return name == "proxy-connection"
        case 17: return name == "transfer-encoding"
        case 18: return name == "proxy-authenticate"
        case 19: return name == "proxy-authorization"
        default: return false
        }
    }

    /// The headers of the upstream request: on passthrough (`relayed`) the client's own, minus its
    /// key; otherwise only the content type, `accept`, and the client headers the provider lists
    /// (`client_headers`) or the request forwards (`x-portkey-forward-headers`); then the script's.
    func upstreamHeaders(request: IncomingRequest, options: RequestOptions, plan: PreparedRequest, provider: ProviderInfo,
                         relayed: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        func copy(_ name: String) {
            guard !name.hasPrefix("x-portkey-"), !Self.isHopByHop(name),
                  !plan.headers.contains(where: { $0.name == name }) else { return }
            for value in request.headers[name] { headers.add(name: name, value: value) }
        }
        if relayed {
            // Passthrough keeps the client's headers, minus its key (the provider's auth replaces it).
            for (rawName, _) in request.headers {
                let name = rawName.asciiLowercased()
                if name == "authorization" || name == "x-api-key" || name == "accept-encoding" || name == "cookie" { continue }
                if headers.contains(name: name) { continue }
                copy(name)
            }
        } else {
            copy("content-type")
            copy("accept")
            for name in provider.clientHeaders { copy(name) }
        }
        for name in options.forwardHeaders where !headers.contains(name: name) { copy(name) }
        if request.body != nil && !headers.contains(name: "content-type") && plan.body == nil {
            headers.add(name: "content-type", value: "application/json")
        }
        if plan.body != nil, plan.bodyFromTable || headers.first(name: "content-type").map(Self.mentionsJSON) ?? true {
            // A body the script built is JSON (a table always; a string unless the client's body
            // was something else: CSV bytes a script signs and sends on keep their type). The
            // script's own content-type wins.
            headers.replaceOrAdd(name: "content-type", value: "application/json")
        }
        for header in plan.headers { headers.replaceOrAdd(name: header.name, value: header.value) }
        return headers
    }

    func responseHeaders(_ upstream: HTTPHeaders) -> HTTPHeaders {
        var result = HTTPHeaders()
        result.reserveCapacity(upstream.count + 4)
        for (name, value) in upstream {
            let lower = name.asciiLowercased()
            if Self.isHopByHop(lower) || lower == "date" || lower == "server" || lower == "set-cookie"
                || lower.hasPrefix("x-portkey-") {
                continue
            }
            result.add(name: lower, value: value)
        }
        return result
    }

    /// What the client is told when an upstream exchange fails; the attempt's span ends with it.
    func mapUpstreamError(_ error: any Error, provider: String, url: UpstreamURL, options: RequestOptions) -> GatewayError {
        let mapped = upstreamFailure(error, provider: provider, url: url, options: options)
        options.record?.trace?.attemptFailed(mapped)
        return mapped
    }

    private func upstreamFailure(_ error: any Error, provider: String, url: UpstreamURL, options: RequestOptions) -> GatewayError {
        let seconds = upstream.readTimeout.nanoseconds / 1_000_000_000
        guard let error = error as? UpstreamError else {
            return .upstreamUnreachable(provider: provider, host: url.origin, reason: String("\(error)".prefix(300)))
        }
        switch error.kind {
        case .deadline:
            return .requestTimeout(milliseconds: options.timeoutMilliseconds ?? 0)
        case .readTimeout:
            return .upstreamTimeout(provider: provider, seconds: seconds)
        case .connectTimeout:
            return .upstreamUnreachable(provider: provider, host: url.origin, reason: "connection timed out")
        case .connect, .tls:
            return .upstreamUnreachable(provider: provider, host: url.origin, reason: error.detail)
        case .forbiddenAddress:
            return .invalidHeader("x-portkey-custom-host", "\(url.origin) connects to \(error.detail) (an operator can allow the host with --allow-host)")
        case .closed:
            return .upstreamBroken(provider: provider, reason: "the connection closed before a complete response")
        case .tooLarge:
            return .upstreamBroken(provider: provider, reason: error.detail)
        case .cancelled:
            return GatewayError(status: 499, type: .requestCancelled,
                                message: "the client closed the connection before the response", code: .clientClosedRequest)
        case .invalidURL:
            return GatewayError(status: 502, type: .upstream,
                                message: "provider '\(provider)' built an invalid upstream URL (\(url.origin))",
                                code: .invalidUpstreamUrl)
        }
    }

    /// `scheme://host[:port]` of a URL, so messages never echo paths or query keys.
    static func origin(of url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return "(invalid URL)" }
        let rest = url[schemeEnd.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let host = rest[..<end].split(separator: "@").last.map(String.init) ?? ""
        return String(url[..<schemeEnd.upperBound]) + host
    }
}
