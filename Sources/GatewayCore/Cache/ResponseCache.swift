import NIOCore
import Synchronization

/// An in-memory, exact-match cache of successful responses, bounded by bytes with
/// least-recently-used eviction (Portkey's `cache: {"mode": "simple", "max_age": …}`).
///
/// Freshness is decided at lookup, not at store: each request brings its own `max_age`, so one
/// entry may be fresh for one request and stale for another; a stale entry found by a lookup is
/// dropped. Lookups and stores are O(1): a dictionary finds the entry's slot and the recency order
/// is a doubly linked list threaded through an array of slots by index, so no per-hit allocation
/// and no scans. One lock guards it all; nothing slow (hashing the request, replaying a stream)
/// happens under it.
///
/// ```swift
/// let cache = ResponseCache(maxBytes: 64 << 20)
/// if let hit = cache.lookup(key, maxAge: .seconds(600)) { … }
/// cache.store(key, CachedResponse(status: 200, body: body))
/// ```
public final class ResponseCache: Sendable {
    /// Counters for metrics.
    public struct Stats: Sendable, Equatable {
        public var entries: Int
        /// Bytes charged to the budget (see ``ResponseCache/entryOverhead``).
        public var bytes: Int
        /// Entries dropped to make room (stale entries dropped by a lookup are not counted).
        public var evictions: Int

        public init(entries: Int, bytes: Int, evictions: Int) {
            self.entries = entries
            self.bytes = bytes
            self.evictions = evictions
        }
    }

    /// Bytes charged per entry on top of its key and body, for the slot, the dictionary entry and
    /// the buffer headers; keeps many tiny entries from exceeding the budget in real memory.
    public static let entryOverhead = 128

    public let maxBytes: Int
    private let state: Mutex<LRUList>

    /// A cache holding at most `maxBytes` (0 disables it: nothing is stored).
    public init(maxBytes: Int) {
        self.maxBytes = max(0, maxBytes)
        self.state = Mutex(LRUList())
    }

    /// The response stored under `key` if it was stored no more than `maxAge` before `now`; a
    /// hit becomes the most recently used entry, an older entry is removed.
    public func lookup(_ key: CacheKey, maxAge: Duration, now: ContinuousClock.Instant = .now) -> CachedResponse? {
        state.withLock { list in
            guard let slot = list.index[key], let response = list.slots[slot].response else { return nil }
            if now - response.storedAt > maxAge {
                list.remove(slot)
                return nil
            }
            list.moveToFront(slot)
            return response
        }
    }

    /// Stores `response` under `key` (replacing what was there), stamped with `now`, evicting the
    /// least recently used entries until it fits. Responses that are not 2xx, or that alone cost
    /// more than ``maxBytes``, are not stored (and the key's previous entry is dropped).
    public func store(_ key: CacheKey, _ response: CachedResponse, now: ContinuousClock.Instant = .now) {
        var response = response
        response.storedAt = now
        let cost = key.byteCount + response.body.readableBytes + Self.entryOverhead
        let storable = (200..<300).contains(response.status) && cost <= maxBytes
        state.withLock { list in
            if let slot = list.index[key] { list.remove(slot) }
            guard storable else { return }
            while list.bytes + cost > maxBytes, list.tail != LRUList.none {
                list.remove(list.tail)
                list.evictions += 1
            }
            list.insertAtFront(key: key, response: response, cost: cost)
        }
    }

    public var stats: Stats {
        state.withLock { Stats(entries: $0.index.count, bytes: $0.bytes, evictions: $0.evictions) }
    }

    /// Drops every entry (the eviction count is kept: it is a running total for metrics).
    public func removeAll() {
        state.withLock { list in
            let evictions = list.evictions
            list = LRUList()
            list.evictions = evictions
        }
    }
}

/// Entries in recency order: a doubly linked list whose links are indexes into `slots`, plus a
/// free list so slots are reused instead of the array growing.
private struct LRUList {
    static let none = -1

    struct Slot {
        var key: CacheKey?
        var response: CachedResponse?
        var cost = 0
        var previous = LRUList.none
        var next = LRUList.none
    }

    var index: [CacheKey: Int] = [:]
    var slots: [Slot] = []
    var free: [Int] = []
    /// Most recently used.
    var head = LRUList.none
    /// Least recently used: the next to evict.
    var tail = LRUList.none
    var bytes = 0
    var evictions = 0

    mutating func insertAtFront(key: CacheKey, response: CachedResponse, cost: Int) {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
        } else {
            slot = slots.count
            slots.append(Slot())
        }
        slots[slot] = Slot(key: key, response: response, cost: cost)
        index[key] = slot
        bytes += cost
        link(slot)
    }

    /// Unlinks the slot, releases its response and returns the slot to the free list.
    mutating func remove(_ slot: Int) {
        unlink(slot)
        if let key = slots[slot].key { index[key] = nil }
        bytes -= slots[slot].cost
        slots[slot] = Slot()
        free.append(slot)
    }

    mutating func moveToFront(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        link(slot)
    }

    private mutating func link(_ slot: Int) {
        slots[slot].previous = Self.none
        slots[slot].next = head
        if head != Self.none { slots[head].previous = slot }
        head = slot
        if tail == Self.none { tail = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let previous = slots[slot].previous
        let next = slots[slot].next
        if previous != Self.none { slots[previous].next = next } else { head = next }
        if next != Self.none { slots[next].previous = previous } else { tail = previous }
        slots[slot].previous = Self.none
        slots[slot].next = Self.none
    }
}
