import CLuaShim
import Glibc
import Synchronization

/// The key-value store scripts share through `gw.store` (`get`, `put`, `delete`): one per gateway,
/// shared by every VM and every script generation (so it survives a reload), in memory.
///
/// Bounded by bytes (keys plus values): a `put` that would overflow evicts expired entries first,
/// then the least recently used; a value larger than a quarter of the bound is refused (the
/// script gets `nil, reason`). Every entry has a time to live, capped by `maxTTL`. The responses
/// converter keeps conversations here for `previous_response_id`; issue 17's shared state will give
/// it a Redis backend.
public final class ScriptStore: Sendable {
    public let maxBytes: Int
    public let maxTTL: Duration

    private struct Entry {
        var value: [UInt8]
        var expires: ContinuousClock.Instant
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    public init(maxBytes: Int, maxTTL: Duration = .seconds(24 * 3600)) {
        self.maxBytes = max(0, maxBytes)
        self.maxTTL = maxTTL
    }

    /// Bytes held now (keys and values).
    public var bytes: Int { state.withLock { $0.bytes } }
    public var count: Int { state.withLock { $0.entries.count } }

    public func get(_ key: String, now: ContinuousClock.Instant = .now) -> [UInt8]? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            guard entry.expires > now else {
                state.bytes -= key.utf8.count + entry.value.count
                state.entries[key] = nil
                return nil
            }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.value
        }
    }

    /// Stores `value` for `ttl` (capped by ``maxTTL``); the reason when it cannot.
    public func put(_ key: String, _ value: [UInt8], ttl: Duration, now: ContinuousClock.Instant = .now) -> String? {
        let size = key.utf8.count + value.count
        guard size <= maxBytes / 4 else {
            return "the value (\(size) bytes) is larger than a quarter of the store (\(maxBytes) bytes)"
        }
        let expires = now + min(ttl, maxTTL)
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= key.utf8.count + old.value.count }
            if state.bytes + size > maxBytes {
                for (name, entry) in state.entries where entry.expires <= now {
                    state.bytes -= name.utf8.count + entry.value.count
                    state.entries[name] = nil
                }
            }
            if state.bytes + size > maxBytes {
                // Least recently used first; one sort per overflow, not per put.
                for (name, entry) in state.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
                    guard state.bytes + size > maxBytes else { break }
                    state.bytes -= name.utf8.count + entry.value.count
                    state.entries[name] = nil
                }
            }
            state.clock += 1
            state.entries[key] = Entry(value: value, expires: expires, lastUse: state.clock)
            state.bytes += size
        }
        return nil
    }

    public func delete(_ key: String) {
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= key.utf8.count + old.value.count }
        }
    }

    /// Connects a VM's `gw.store` to this store. The VM keeps the store alive (`retained`).
    func install(on vm: OpaquePointer, retained: Unmanaged<ScriptStore>) {
        sb_set_store(vm, storeGetBridge, storePutBridge, storeDeleteBridge, retained.toOpaque())
    }
}

private func storeKey(_ key: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let key else { return "" }
    return key.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
}

private let storeGetBridge: sb_store_get_fn = { context, key, keyLength, valueLength in
    let store = Unmanaged<ScriptStore>.fromOpaque(context!).takeUnretainedValue()
    guard let value = store.get(storeKey(key, keyLength)) else { return nil }
    guard let copy = malloc(max(1, value.count))?.assumingMemoryBound(to: CChar.self) else { return nil }
    value.withUnsafeBytes { bytes in
        if let base = bytes.baseAddress { memcpy(copy, base, value.count) }
    }
    valueLength?.pointee = value.count
    return copy
}

private let storePutBridge: sb_store_put_fn = { context, key, keyLength, value, valueLength, ttl in
    let store = Unmanaged<ScriptStore>.fromOpaque(context!).takeUnretainedValue()
    let bytes = value.map { pointer in
        pointer.withMemoryRebound(to: UInt8.self, capacity: valueLength) { Array(UnsafeBufferPointer(start: $0, count: valueLength)) }
    } ?? []
    // ttl > 0 (checked in C); a huge ttl is capped by maxTTL, never converted unchecked.
    let duration: Duration = ttl >= 1e9 ? .seconds(1_000_000_000) : .seconds(ttl)
    return store.put(storeKey(key, keyLength), bytes, ttl: duration) == nil ? 0 : 1
}

private let storeDeleteBridge: sb_store_delete_fn = { context, key, keyLength in
    let store = Unmanaged<ScriptStore>.fromOpaque(context!).takeUnretainedValue()
    store.delete(storeKey(key, keyLength))
}
