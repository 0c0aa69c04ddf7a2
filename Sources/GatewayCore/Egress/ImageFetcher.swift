#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
public import NIOCore
import NIOHTTP1
import NIOPosix

/// Limits on fetching image URLs for providers that accept only inline image data (Gemini,
/// Bedrock): a provider script asks for the fetch by returning `{ fetch = { url, ... } }`.
public struct ImageFetchSettings: Sendable {
    /// Largest image accepted, in bytes.
    public var maxBytes: Int
    /// The whole fetch (connect, request, body) must finish within this.
    public var timeout: TimeAmount
    /// Most images fetched for one request.
    public var maxImages: Int
    /// Hosts an operator allows even when they are not public (`--allow-host`).
    public var allowedHosts: Set<String>

    public init(maxBytes: Int = 10 * 1024 * 1024, timeout: TimeAmount = .seconds(10), maxImages: Int = 16,
                allowedHosts: Set<String> = []) {
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.maxImages = maxImages
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }
}

/// Fetches an image URL on a client's behalf, only from public addresses: the name is resolved
/// first, every address must be public (no loopback, private, link-local or metadata ranges), and
/// the connection goes to the vetted address, so DNS cannot point it elsewhere afterwards.
/// Redirects are not followed (a redirect is an error naming the status).
struct ImageFetcher: Sendable {
    let settings: ImageFetchSettings
    let upstream: any UpstreamTransport

    struct Image: Sendable {
        var mediaType: String
        var base64: String
    }

    /// ``fetch(_:)`` as a value, for a task group's child.
    func result(_ text: String) async -> Result<Image, GatewayError> {
        do throws(GatewayError) {
            return .success(try await fetch(text))
        } catch {
            return .failure(error)
        }
    }

    func fetch(_ text: String) async throws(GatewayError) -> Image {
        func refuse(_ reason: String, status: Int = 400) -> GatewayError {
            GatewayError(status: status, type: .invalidRequest,
                         message: "image URL \(Gateway.origin(of: text)): \(reason)", param: "messages", code: .imageFetchFailed)
        }
        guard var url = UpstreamURL(text) else { throw refuse("not an http(s) URL") }
        let host = url.host.lowercased()
        if !settings.allowedHosts.contains(host) {
            if let reason = Self.nonPublicReason(host) { throw refuse("\(host) is not public: \(reason)") }
            url.addressPolicy = .publicOnly
            let addresses = try await Self.resolve(host, port: url.port)
            guard let first = addresses.first else { throw refuse("the host does not resolve") }
            for address in addresses {
                if let reason = Self.nonPublicReason(address) { throw refuse("\(address) is not public: \(reason)") }
            }
            url.connectAddress = first
        }
        var headers = HTTPHeaders()
        headers.add(name: "accept", value: "image/*")
        headers.add(name: "user-agent", value: "switchboard-gateway")
        let response: UpstreamResponse
        do {
            response = try await upstream.execute(
                UpstreamRequest(method: .GET, url: url, headers: headers, body: nil),
                deadline: .now() + settings.timeout, maxBodyBytes: settings.maxBytes)
        } catch let error as UpstreamError {
            switch error.kind {
            case .tooLarge: throw refuse("larger than \(settings.maxBytes) bytes")
            case .deadline, .readTimeout, .connectTimeout:
                throw refuse("not fetched within \(settings.timeout.nanoseconds / 1_000_000_000) s")
            default: throw refuse("could not be fetched (\(error.detail))", status: 400)
            }
        } catch {
            throw refuse("could not be fetched")
        }
        guard case .complete(let head, let body) = response else { throw refuse("answered with a stream, not an image") }
        guard head.status == 200 else { throw refuse("answered HTTP \(head.status)") }
        let type = head.headers.first(name: "content-type")?.split(separator: ";").first
            .map { String($0).trimmingWhitespace().lowercased() } ?? ""
        guard type.hasPrefix("image/") else { throw refuse("is not an image (content-type '\(type)')") }
        return Image(mediaType: type, base64: Data(body.readableBytesView).base64EncodedString())
    }

    /// Why an address may not be fetched from, or nil when it is public.
    static func nonPublicReason(_ address: String) -> String? {
        if case .address(let ip) = IPAddress.parse(host: address) {
            return AddressPolicy.publicOnly.refusal(ip)
        }
        return CustomHostPolicy.forbiddenReason(host: address)
    }

    /// The host's addresses (the host itself when it is an IP literal), resolved off the event loop.
    static func resolve(_ host: String, port: Int) async throws(GatewayError) -> [String] {
        guard let addresses = await HostResolver.addresses(of: host, port: port) else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "image URL host '\(host)' does not resolve", param: "messages", code: .imageFetchFailed)
        }
        return addresses
    }
}
