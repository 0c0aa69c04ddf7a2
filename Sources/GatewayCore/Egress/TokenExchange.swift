import LuaRuntime
import NIOCore
import NIOHTTP1

/// The credential call a provider script asks for before its request (`{ token_request = {...} }`
/// from `prepare`): a Google service account's signed JWT exchanged for an access token, an Azure
/// client-credentials grant. The script builds the request and reads the answer (and caches the
/// token in `gw.store`); the host only sends it, under the rules every call the gateway makes on a
/// client's word follows: the token URL may come from a client's key file, so its host must be
/// public unless an operator allows it (`--allow-host`), the answer is bounded (64 KiB) and the
/// whole call has the image-fetch timeout.
extension Gateway {
    static let maxTokenAnswerBytes = 64 * 1024

    nonisolated(nonsending) func requestToken(_ request: TokenRequest, provider: String) async throws(GatewayError) -> TokenResponse {
        func failure(_ reason: String) -> GatewayError {
            GatewayError(status: 502, type: .upstream,
                         message: "provider '\(provider)' could not get an access token from \(Gateway.origin(of: request.url)): \(reason)",
                         code: .tokenExchangeFailed)
        }
        guard var url = UpstreamURL(request.url) else {
            throw GatewayError(status: 500, type: .script,
                               message: "provider '\(provider)' asked for a token from an invalid URL (\(Gateway.origin(of: request.url)))",
                               code: .scriptError)
        }
        let host = url.host.lowercased()
        if !settings.imageFetch.allowedHosts.contains(host) {
            // The same vetting as image fetches: every address public, and the connection pinned
            // to the vetted one.
            if let reason = ImageFetcher.nonPublicReason(host) {
                throw GatewayError(status: 400, type: .invalidRequest,
                                   message: "the token URL's host \(host) is not public (\(reason)); an operator can allow it with --allow-host",
                                   code: .tokenExchangeFailed)
            }
            url.addressPolicy = .publicOnly
            guard let addresses = await HostResolver.addresses(of: host, port: url.port), let first = addresses.first else {
                throw failure("the host does not resolve")
            }
            for address in addresses {
                if let reason = ImageFetcher.nonPublicReason(address) {
                    throw GatewayError(status: 400, type: .invalidRequest,
                                       message: "the token URL's host \(host) resolves to \(address), which is not public (\(reason))",
                                       code: .tokenExchangeFailed)
                }
            }
            url.connectAddress = first
        }
        var headers = HTTPHeaders()
        for header in request.headers { headers.replaceOrAdd(name: header.name, value: header.value) }
        if !headers.contains(name: "user-agent") { headers.add(name: "user-agent", value: "switchboard-gateway") }
        let response: UpstreamResponse
        do {
            response = try await upstream.execute(
                UpstreamRequest(method: HTTPMethod(rawValue: request.method), url: url, headers: headers,
                                body: request.body.map { ByteBuffer(bytes: $0) }),
                deadline: .now() + settings.imageFetch.timeout, maxBodyBytes: Self.maxTokenAnswerBytes)
        } catch let error as UpstreamError {
            switch error.kind {
            case .tooLarge: throw failure("the answer is larger than \(Self.maxTokenAnswerBytes) bytes")
            case .deadline, .readTimeout, .connectTimeout:
                throw failure("no answer within \(settings.imageFetch.timeout.nanoseconds / 1_000_000_000) s")
            default: throw failure(error.detail)
            }
        } catch {
            throw failure("\(error)")
        }
        guard case .complete(let head, let body) = response else { throw failure("it answered with a stream") }
        return TokenResponse(status: head.status, body: Array(body.readableBytesView))
    }
}
