import Synchronization

/// Parsed inline configs (`x-portkey-config: {…}`) by their exact text.
///
/// Portkey clients send the same config JSON on every request; parsing it through `JSONDecoder`
/// was 27 % of the gateway's CPU when serving cache hits (`perf`, `bench/cache.lua`). Entries are
/// tied to the script generation they were validated against (a reload can remove a provider), and
/// the table is bounded: when it is full it starts over, which costs one parse per distinct config.
final class InlineConfigCache: Sendable {
    static let capacity = 256
    /// Longer configs are parsed every time rather than kept.
    static let maxTextBytes = 16 * 1024

    private struct Entry {
        var generation: Int
        var config: RouteConfig
    }

    private let entries = Mutex<[String: Entry]>([:])

    func config(_ text: String, generation: Int) -> RouteConfig? {
        entries.withLock { entries in
            guard let entry = entries[text], entry.generation == generation else { return nil }
            return entry.config
        }
    }

    func store(_ text: String, generation: Int, _ config: RouteConfig) {
        guard text.utf8.count <= Self.maxTextBytes else { return }
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[text] = Entry(generation: generation, config: config)
        }
    }
}
