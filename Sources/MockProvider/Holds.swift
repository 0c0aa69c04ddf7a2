import Foundation
import NIOCore
import Synchronization

/// Streams that keep their last chunk back until a test lets it go.
///
/// Why: a test that wants to prove a gateway relays a binary stream as it arrives (not once it is
/// complete) needs an upstream that has provably not finished when the client reads its first
/// bytes. With `x-mock-hold: <key>` the mock sends every chunk but the last, then waits until
/// `POST /mock/holds/<key>/release`; `GET /mock/holds/<key>` tells the test whether the stream is
/// still held. No timing assertion is involved: a buffering gateway cannot hand the client any
/// byte while the mock holds the stream. So that such a gateway makes the test fail rather than
/// hang, a hold lets go by itself after `timeout`, and its state then says `timed_out`.
enum Holds {
    static let pollInterval: TimeAmount = .milliseconds(5)
    static let timeout: Duration = .seconds(15)

    struct State {
        var sentBytes = 0
        var sentChunks = 0
        var held = false
        var released = false
        var timedOut = false
        var finished = false
        var since = ContinuousClock.now
    }

    private static let states = Mutex<[String: State]>([:])

    /// Registers `key` for a new stream (a reused key starts over).
    static func open(_ key: String) {
        states.withLock { $0[key] = State() }
    }

    /// Whether the last chunk may go now; marks the stream held while it may not.
    static func mayProceed(_ key: String) -> Bool {
        states.withLock { all in
            var state = all[key] ?? State()
            defer { all[key] = state }
            if state.released { return true }
            if !state.held {
                state.held = true
                state.since = .now
            }
            if ContinuousClock.now - state.since > timeout {
                state.timedOut = true
                return true
            }
            return false
        }
    }

    static func sent(_ key: String, bytes: Int, last: Bool) {
        states.withLock { all in
            all[key, default: State()].sentBytes += bytes
            all[key, default: State()].sentChunks += 1
            if last { all[key, default: State()].finished = true }
        }
    }

    static func release(_ key: String) {
        states.withLock { $0[key, default: State()].released = true }
    }

    /// `{"key", "state": unknown|sending|holding|finished|timed_out, "sent_bytes", "sent_chunks"}`.
    static func describe(_ key: String) -> [String: Any] {
        let state = states.withLock { $0[key] }
        let name: String
        switch state {
        case nil: name = "unknown"
        case let state? where state.timedOut: name = "timed_out"
        case let state? where state.finished: name = "finished"
        case let state? where state.held && !state.released: name = "holding"
        default: name = "sending"
        }
        return ["key": key, "state": name, "sent_bytes": state?.sentBytes ?? 0, "sent_chunks": state?.sentChunks ?? 0]
    }
}
