import NIOCore

/// Measures how late this event loop runs a timer, i.e. how busy LoadGen itself is.
///
/// Why: a stall seen by a stream could be the gateway's or LoadGen's own (a saturated loop
/// reads late). Reporting the loop's lateness next to the stall count tells them apart.
final class LagProbe {
    static let interval: TimeAmount = .milliseconds(10)

    private let loop: any EventLoop
    private var task: Scheduled<Void>?
    private(set) var samples: [UInt64] = []

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func start() {
        schedule(at: NIODeadline.now() + Self.interval)
    }

    func stop() {
        task?.cancel()
        task = nil
    }

    private func schedule(at deadline: NIODeadline) {
        task = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            let now = NIODeadline.now()
            samples.append(now > deadline ? (now - deadline).nanoseconds.magnitude : 0)
            schedule(at: now + Self.interval)
        }
    }
}
