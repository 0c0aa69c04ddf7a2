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
    /// The same exchange started on `loop` without waiting: its answer arrives as a future on
    /// that loop (how a request every stage passes is served without a task; see
    /// ``Gateway/exchange(_:options:on:)``).
    func start(_ request: UpstreamRequest, deadline: NIODeadline?, maxBodyBytes: Int, on loop: any EventLoop) -> UpstreamExchange
}

extension UpstreamTransport {
    /// For a transport that only has ``execute(_:deadline:maxBodyBytes:)``: the exchange runs in a
    /// task, which cancelling the exchange cancels.
    public func start(_ request: UpstreamRequest, deadline: NIODeadline?, maxBodyBytes: Int, on loop: any EventLoop)
        -> UpstreamExchange
    {
        let promise = loop.makePromise(of: UpstreamResponse.self)
        let task = Task {
            do {
                promise.succeed(try await execute(request, deadline: deadline, maxBodyBytes: maxBodyBytes))
            } catch {
                promise.fail(error)
            }
        }
        return UpstreamExchange(answer: promise.futureResult) { task.cancel() }
    }
}

/// An upstream exchange under way: its answer to come, and how to abandon it (the connection is
/// closed, so the provider stops generating).
public struct UpstreamExchange: Sendable {
    public let answer: EventLoopFuture<UpstreamResponse>
    public let cancel: @Sendable () -> Void

    public init(answer: EventLoopFuture<UpstreamResponse>, cancel: @escaping @Sendable () -> Void) {
        self.answer = answer
        self.cancel = cancel
    }

    /// An exchange that failed before it began.
    init(failed error: any Error, on loop: any EventLoop) {
        self.init(answer: loop.makeFailedFuture(error)) {}
    }
}

extension UpstreamClient: UpstreamTransport {}
