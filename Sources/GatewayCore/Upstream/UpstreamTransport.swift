public import NIOCore

/// What the gateway needs from the network to reach a provider: one exchange, complete or as a
/// stream. ``UpstreamClient`` is the real one; tests put a recorded provider behind it, so the
/// stage chain and the provider call run in swift-testing without sockets (see the golden
/// fixtures in `Tests/Fixtures/providers`).
public protocol UpstreamTransport: Sendable {
    /// Longest silence tolerated from an upstream (named in timeout errors).
    var readTimeout: TimeAmount { get }
    nonisolated(nonsending) func execute(_ request: UpstreamRequest, deadline: NIODeadline?, maxBodyBytes: Int) async throws
        -> UpstreamResponse
}

extension UpstreamClient: UpstreamTransport {}
