import NIOCore
import Testing
@testable import GatewayCore

/// The byte-bounded LRU cache: eviction order, expiry, replacement and accounting.
@Suite struct ResponseCacheTests {
    let t0 = ContinuousClock.now

    func key(_ name: String) -> CacheKey {
        // A fixed-size body so every key costs the same.
        CacheKey.make(provider: "p", endpoint: "chat/completions", credential: nil,
                      body: Array(#"{"m":"\#(name)"}"#.utf8))!
    }

    func response(_ text: String, status: Int = 200) -> CachedResponse {
        CachedResponse(status: status, body: ByteBuffer(string: text))
    }

    func body(_ hit: CachedResponse?) -> String? {
        hit.map { String(buffer: $0.body) }
    }

    /// What one entry of `key(_:)` with a `bodyBytes`-byte body costs.
    func cost(bodyBytes: Int, name: String = "A") -> Int {
        key(name).byteCount + bodyBytes + ResponseCache.entryOverhead
    }

    @Test func evictsTheLeastRecentlyUsedEntryAtTheByteBound() {
        let cache = ResponseCache(maxBytes: 2 * cost(bodyBytes: 4))
        cache.store(key("A"), response("aaaa"), now: t0)
        cache.store(key("B"), response("bbbb"), now: t0)
        #expect(body(cache.lookup(key("A"), maxAge: .seconds(60), now: t0)) == "aaaa")  // A is now the newest
        cache.store(key("C"), response("cccc"), now: t0)
        #expect(cache.lookup(key("B"), maxAge: .seconds(60), now: t0) == nil)
        #expect(body(cache.lookup(key("A"), maxAge: .seconds(60), now: t0)) == "aaaa")
        #expect(body(cache.lookup(key("C"), maxAge: .seconds(60), now: t0)) == "cccc")
        #expect(cache.stats == ResponseCache.Stats(entries: 2, bytes: 2 * cost(bodyBytes: 4), evictions: 1))
        // Without the touch, the oldest goes first.
        cache.store(key("D"), response("dddd"), now: t0)
        #expect(cache.lookup(key("A"), maxAge: .seconds(60), now: t0) == nil)
        #expect(cache.lookup(key("C"), maxAge: .seconds(60), now: t0) != nil)
    }

    @Test func aLargeEntryEvictsAsManyAsNeeded() {
        let cache = ResponseCache(maxBytes: 3 * cost(bodyBytes: 4))
        for name in ["A", "B", "C"] { cache.store(key(name), response("xxxx"), now: t0) }
        let big = String(repeating: "z", count: 2 * cost(bodyBytes: 4) - cost(bodyBytes: 0) + 4)
        cache.store(key("D"), response(big), now: t0)
        #expect(cache.stats.entries == 1)
        #expect(cache.stats.evictions == 3)
        #expect(body(cache.lookup(key("D"), maxAge: .seconds(1), now: t0)) == big)
    }

    @Test func oversizeEntriesAndErrorsAreNotStored() {
        let cache = ResponseCache(maxBytes: cost(bodyBytes: 10))
        cache.store(key("A"), response(String(repeating: "a", count: 10)), now: t0)  // exactly fits
        #expect(cache.stats.entries == 1)
        cache.store(key("B"), response(String(repeating: "b", count: 11)), now: t0)
        #expect(cache.lookup(key("B"), maxAge: .seconds(60), now: t0) == nil)
        #expect(cache.stats.entries == 1)  // and A was not evicted for nothing
        #expect(cache.stats.evictions == 0)
        cache.store(key("C"), response("oops", status: 500), now: t0)
        cache.store(key("D"), response("moved", status: 301), now: t0)
        #expect(cache.lookup(key("C"), maxAge: .seconds(60), now: t0) == nil)
        #expect(cache.lookup(key("D"), maxAge: .seconds(60), now: t0) == nil)

        let disabled = ResponseCache(maxBytes: 0)
        disabled.store(key("A"), response(""), now: t0)
        #expect(disabled.stats == ResponseCache.Stats(entries: 0, bytes: 0, evictions: 0))
    }

    @Test func entriesExpireByTheRequestsMaxAge() {
        let cache = ResponseCache(maxBytes: 1 << 20)
        cache.store(key("A"), response("a"), now: t0)
        let hit = cache.lookup(key("A"), maxAge: .seconds(10), now: t0 + .seconds(10))
        #expect(body(hit) == "a")
        #expect(hit?.storedAt == t0)
        #expect(hit?.age(now: t0 + .seconds(10)) == .seconds(10))
        // A shorter max_age on another request sees it as stale, and the stale entry is dropped.
        #expect(cache.lookup(key("A"), maxAge: .seconds(5), now: t0 + .seconds(6)) == nil)
        #expect(cache.stats.entries == 0)
        #expect(cache.stats.bytes == 0)
        #expect(cache.lookup(key("A"), maxAge: .seconds(60), now: t0 + .seconds(6)) == nil)
    }

    @Test func storingAgainReplacesAndRestampsTheEntry() {
        let cache = ResponseCache(maxBytes: 1 << 20)
        cache.store(key("A"), response("old"), now: t0)
        cache.store(key("A"), response("newer"), now: t0 + .seconds(30))
        #expect(cache.stats == ResponseCache.Stats(entries: 1, bytes: cost(bodyBytes: 5), evictions: 0))
        let hit = cache.lookup(key("A"), maxAge: .seconds(10), now: t0 + .seconds(35))
        #expect(body(hit) == "newer")
        // An oversize replacement drops the old entry rather than keep serving it.
        let small = ResponseCache(maxBytes: cost(bodyBytes: 3))
        small.store(key("A"), response("old"), now: t0)
        small.store(key("A"), response("too long"), now: t0)
        #expect(small.lookup(key("A"), maxAge: .seconds(60), now: t0) == nil)
    }

    @Test func removeAllEmptiesTheCacheAndSlotsAreReused() {
        let cache = ResponseCache(maxBytes: 2 * cost(bodyBytes: 1))
        for round in 0..<50 {
            cache.store(key("\(round % 7)"), response("\(round % 10)"), now: t0)
        }
        #expect(cache.stats.entries == 2)
        #expect(cache.stats.bytes <= cache.maxBytes)
        cache.removeAll()
        #expect(cache.stats.entries == 0)
        #expect(cache.stats.bytes == 0)
        #expect(cache.lookup(key("0"), maxAge: .seconds(60), now: t0) == nil)
        cache.store(key("A"), response("a"), now: t0)
        #expect(body(cache.lookup(key("A"), maxAge: .seconds(60), now: t0)) == "a")
    }

    @Test func concurrentUseKeepsTheAccountingConsistent() async {
        let entry = cost(bodyBytes: 2, name: "00")
        let cache = ResponseCache(maxBytes: 20 * entry)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for step in 0..<500 {
                        let number = (worker * 31 + step) % 40
                        let name = number < 10 ? "0\(number)" : "\(number)"
                        if cache.lookup(key(name), maxAge: .seconds(60)) == nil {
                            cache.store(key(name), response("vv"))
                        }
                    }
                }
            }
        }
        let stats = cache.stats
        #expect(stats.entries == 20)
        #expect(stats.bytes == 20 * entry)
    }
}
