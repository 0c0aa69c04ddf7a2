public import AsyncHTTPClient
public import NIOCore
import NIOHTTP1

/// The pooled HTTP client every upstream call goes through.
public final class UpstreamClient: Sendable {
    public let http: HTTPClient
    /// Longest silence tolerated from an upstream (connect excluded) before a 504.
    public let readTimeout: TimeAmount

    public init(eventLoopGroup: any EventLoopGroup, connectTimeout: TimeAmount = .seconds(10),
                readTimeout: TimeAmount = .seconds(600)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: connectTimeout, read: readTimeout)
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        // The default of 8 connections per host would queue concurrent streams behind each other.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 4096)
        self.http = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
        self.readTimeout = readTimeout
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }
}
