import Synchronization

/// The console's live feed: each finished request, as the JSON of its log line (without bodies),
/// handed to the browsers watching `GET /console/feed`.
///
/// Free when nobody watches: the request path reads the subscriber count (``isWatched``) with one
/// relaxed atomic load and goes on; nothing is encoded, locked or allocated. With watchers, the event is encoded
/// once and appended to each subscriber's bounded queue under one short lock; the subscriber's
/// connection is woken once per batch and writes what it takes on its own event loop. A browser
/// that reads slowly never slows a request: its queue fills to ``Subscription/capacity`` and further
/// events are dropped *for it* and counted, and it is told how many (`event: dropped`).
///
/// Lives in ``RequestObserver/Activity`` (a class the observer already holds), so copies of the
/// observer on the request path retain no extra reference.
public final class ConsoleFeed: Sendable {
    /// Events a subscriber may have waiting before new ones are dropped for it.
    public static let defaultCapacity = 512

    private let watchers = Atomic<Int>(0)
    private let encoded = Atomic<Int>(0)
    private let state = Mutex(State())

    private struct Queue {
        var events: [[UInt8]] = []
        var dropped = 0
        let capacity: Int
        /// The subscriber was woken and has not taken its events yet: no second wake.
        var wakePending = false
        let wake: @Sendable () -> Void

        mutating func offer(_ event: [UInt8], wakes: inout [@Sendable () -> Void]) {
            if events.count >= capacity {
                dropped += 1
            } else {
                events.append(event)
            }
            if !wakePending {
                wakePending = true
                wakes.append(wake)
            }
        }
    }

    private struct State {
        var nextID: UInt64 = 0
        var queues: [UInt64: Queue] = [:]
    }

    public init() {}

    /// Whether anyone watches (one relaxed load: the request path's only cost when nobody does).
    @inline(__always)
    public var isWatched: Bool { watchers.load(ordering: .relaxed) > 0 }

    /// Subscribers connected now.
    public var subscriberCount: Int { watchers.load(ordering: .relaxed) }

    /// Events encoded since the feed was made (tests check that none are without a subscriber).
    public var encodedCount: Int { encoded.load(ordering: .relaxed) }

    /// Hands an event to every subscriber. The caller checks ``isWatched`` first and encodes only
    /// then (`if feed.isWatched { feed.publish(encode()) }`), so nobody watching costs one load.
    public func publish(_ event: [UInt8]) {
        encoded.add(1, ordering: .relaxed)
        var wakes: [@Sendable () -> Void] = []
        state.withLock { state in
            for id in state.queues.keys {
                state.queues[id]!.offer(event, wakes: &wakes)
            }
        }
        for wake in wakes { wake() }
    }

    /// Adds a subscriber. `wake` is called (from any thread, never under the feed's lock) when
    /// events are waiting and the subscriber was not woken since it last took them.
    public func subscribe(capacity: Int = ConsoleFeed.defaultCapacity,
                          wake: @escaping @Sendable () -> Void) -> Subscription {
        let id = state.withLock { state in
            state.nextID += 1
            state.queues[state.nextID] = Queue(capacity: max(1, capacity), wake: wake)
            return state.nextID
        }
        watchers.add(1, ordering: .relaxed)
        return Subscription(id: id, feed: self)
    }

    fileprivate func take(_ id: UInt64) -> Batch {
        state.withLock { state in
            guard var queue = state.queues[id] else { return Batch(events: [], dropped: 0) }
            let batch = Batch(events: queue.events, dropped: queue.dropped)
            queue.events = []
            queue.dropped = 0
            queue.wakePending = false
            state.queues[id] = queue
            return batch
        }
    }

    fileprivate func remove(_ id: UInt64) {
        let removed = state.withLock { $0.queues.removeValue(forKey: id) != nil }
        if removed { watchers.subtract(1, ordering: .relaxed) }
    }

    /// What a subscriber takes at once: the events waiting, and how many were dropped before them.
    public struct Batch: Sendable {
        public var events: [[UInt8]]
        public var dropped: Int
    }

    /// One watcher's place in the feed; ``cancel()`` (idempotent) leaves it.
    public final class Subscription: Sendable {
        public let id: UInt64
        private let feed: ConsoleFeed

        fileprivate init(id: UInt64, feed: ConsoleFeed) {
            self.id = id
            self.feed = feed
        }

        /// The events waiting (oldest first) and the count dropped since the last take; the next
        /// event wakes the subscriber again.
        public func take() -> Batch { feed.take(id) }

        public func cancel() { feed.remove(id) }

        deinit { feed.remove(id) }
    }
}
