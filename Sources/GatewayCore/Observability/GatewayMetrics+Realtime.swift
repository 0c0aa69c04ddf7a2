import CoreMetrics

/// The `/v1/realtime` proxy's metrics: sessions by provider and outcome, sessions open now, and
/// frames and bytes relayed each way (by provider).
extension GatewayMetrics.Name {
    public static let realtimeSessions = "switchboard_realtime_sessions_total"
    public static let realtimeActive = "switchboard_realtime_active_sessions"
    public static let realtimeFrames = "switchboard_realtime_frames_total"
    public static let realtimeBytes = "switchboard_realtime_bytes_total"
}

extension GatewayMetrics {
    /// A realtime session ended (`outcome`: client_closed, upstream_closed, upstream_lost,
    /// client_lost, shutdown) or never began (refused: the handshake got an error answer).
    public func realtimeSessionEnded(provider: String, outcome: String) {
        Counter(label: Name.realtimeSessions, dimensions: [("provider", provider), ("outcome", outcome)], factory: factory).increment()
    }

    public func realtimeSessionOpened() {
        Meter(label: Name.realtimeActive, dimensions: [], factory: factory).increment()
    }

    public func realtimeSessionClosed() {
        Meter(label: Name.realtimeActive, dimensions: [], factory: factory).decrement()
    }

    /// Counts one session's frames and bytes each way (`to_upstream`, `to_client`): the counters
    /// are made once per session, and bumped per frame by the returned function.
    public func realtimeFrameCounter(provider: String) -> (RealtimeSession.Side, Int) -> Void {
        func counters(_ direction: String) -> (frames: Counter, bytes: Counter) {
            let dimensions = [("provider", provider), ("direction", direction)]
            return (Counter(label: Name.realtimeFrames, dimensions: dimensions, factory: factory),
                    Counter(label: Name.realtimeBytes, dimensions: dimensions, factory: factory))
        }
        let toUpstream = counters("to_upstream")
        let toClient = counters("to_client")
        return { side, bytes in
            let counters = side == .client ? toUpstream : toClient
            counters.frames.increment()
            counters.bytes.increment(by: bytes)
        }
    }
}
