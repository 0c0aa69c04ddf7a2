import FoundationEssentials
import LuaRuntime

/// What models cost, per provider, read from the `pricing/` folder (`pricing/README.md` is the
/// format): USD per million tokens for input, output, cache reads and cache writes, with an
/// optional long-prompt tier. A model missing from the table is unpriced — counted, never guessed.
public struct PricingTable: Sendable {
    /// One price set (per million tokens).
    public struct Rates: Sendable, Equatable {
        public var input: Double
        public var output: Double
        public var cachedInput: Double?
        public var cacheWrite: Double?
    }

    public struct Entry: Sendable, Equatable {
        public var rates: Rates
        /// Prices for the whole request when its prompt is longer than `above` tokens.
        public var longContext: (above: Int, rates: Rates)?
        /// The last day (days since 1970-01-01, UTC) the price applies.
        public var validUntilDay: Int?

        public static func == (a: Entry, b: Entry) -> Bool {
            a.rates == b.rates && a.validUntilDay == b.validUntilDay
                && a.longContext?.above == b.longContext?.above && a.longContext?.rates == b.longContext?.rates
        }
    }

    /// Provider → model id → entry (aliases resolved when read).
    var providers: [String: [String: Entry]] = [:]

    public init() {}

    public var isEmpty: Bool { providers.isEmpty }
    public var modelCount: Int { providers.values.reduce(0) { $0 + $1.count } }

    /// The entry for a provider's model on `day` (days since the epoch), nil when unpriced.
    public func entry(provider: String, model: String, day: Int) -> Entry? {
        guard let entry = providers[provider]?[model] else { return nil }
        if let last = entry.validUntilDay, day > last { return nil }
        return entry
    }

    /// Token counts of one request as its provider reported them.
    public struct Usage: Sendable, Equatable {
        /// Input tokens neither read from nor written to a cache.
        public var uncached: Int
        public var cacheRead: Int
        public var cacheWritten: Int
        public var output: Int

        public init(uncached: Int, cacheRead: Int = 0, cacheWritten: Int = 0, output: Int) {
            self.uncached = uncached
            self.cacheRead = cacheRead
            self.cacheWritten = cacheWritten
            self.output = output
        }
    }

    /// The cost in USD: the long-prompt prices for the whole request when its prompt passes the
    /// threshold; a cache price that is not in the table falls back to the input price.
    public static func cost(_ usage: Usage, entry: Entry) -> Double {
        var rates = entry.rates
        if let long = entry.longContext, usage.uncached + usage.cacheRead + usage.cacheWritten > long.above { rates = long.rates }
        let total = Double(usage.uncached) * rates.input
            + Double(usage.cacheRead) * (rates.cachedInput ?? rates.input)
            + Double(usage.cacheWritten) * (rates.cacheWrite ?? rates.input)
            + Double(usage.output) * rates.output
        return total / 1_000_000
    }

    // MARK: Reading the folder

    /// A file that cannot be honoured; the message names the file and the key.
    public struct Failure: Error, Sendable {
        public let message: String
    }

    /// Reads every `*.json` file of `folder`: `<provider>.json` first, then its overlays
    /// `<provider>.<name>.json` in byte-wise order of name; a later file's model replaces the
    /// earlier entry whole. Any file that breaks the format fails the whole read.
    public static func load(folder: String, knownProviders: Set<String>) throws(Failure) -> PricingTable {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
        } catch {
            throw Failure(message: "pricing folder \(folder) cannot be read")
        }
        // Base file before its overlays: sort by (provider, is-overlay, name).
        let ordered = names.sorted { a, b in
            let (pa, oa) = (a.split(separator: ".").first.map(String.init) ?? a, a.split(separator: ".").count > 2)
            let (pb, ob) = (b.split(separator: ".").first.map(String.init) ?? b, b.split(separator: ".").count > 2)
            if pa != pb { return pa.utf8.lexicographicallyPrecedes(pb.utf8) }
            if oa != ob { return !oa }
            return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        var table = PricingTable()
        for name in ordered {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else {
                throw Failure(message: "pricing/\(name) cannot be read")
            }
            let (provider, models) = try parse(Array(data), file: name, knownProviders: knownProviders)
            table.providers[provider, default: [:]].merge(models) { _, later in later }
        }
        return table
    }

    static let topKeys: Set<String> = ["provider", "currency", "unit", "source", "read_on", "models", "aliases", "note"]
    static let modelKeys: Set<String> = ["input", "output", "cached_input", "cache_write", "long_context", "valid_until", "source",
                                         "read_via"]
    static let longKeys: Set<String> = ["above_input_tokens", "input", "output", "cached_input", "cache_write"]

    /// One file: its provider and its models (aliases included as entries of their own).
    static func parse(_ bytes: [UInt8], file: String, knownProviders: Set<String>) throws(Failure) -> (String, [String: Entry]) {
        func fail(_ message: String) -> Failure { Failure(message: "pricing/\(file): \(message)") }
        guard let root = JSONTree.parse(bytes), let members = root.members else { throw fail("not a JSON object") }
        if let unknown = members.first(where: { !topKeys.contains($0.key) }) { throw fail("unknown key '\(unknown.key)'") }
        guard let provider = root["provider"]?.string else { throw fail("'provider' must be a string") }
        guard file.split(separator: ".").first.map(String.init) == provider else {
            throw fail("'provider' is '\(provider)' but the file is named for another provider")
        }
        guard knownProviders.contains(provider) else { throw fail("'\(provider)' is not a loaded provider") }
        guard root["currency"]?.string == "USD" else { throw fail("'currency' must be \"USD\"") }
        guard root["unit"]?.string == "per_million_tokens" else { throw fail("'unit' must be \"per_million_tokens\"") }
        guard let modelMembers = root["models"]?.members else { throw fail("'models' must be an object") }
        var models: [String: Entry] = [:]
        for member in modelMembers {
            models[member.key] = try entry(member.value, at: "models.\(member.key)", fail: fail)
        }
        if let aliases = root["aliases"] {
            guard let pairs = aliases.members else { throw fail("'aliases' must be an object") }
            for pair in pairs {
                guard let target = pair.value.string, let entry = models[target] else {
                    throw fail("aliases.\(pair.key) must name a key of 'models'")
                }
                guard models[pair.key] == nil else { throw fail("aliases.\(pair.key) is also a model") }
                models[pair.key] = entry
            }
        }
        return (provider, models)
    }

    private static func entry(_ tree: JSONTree, at path: String, fail: (String) -> Failure) throws(Failure) -> Entry {
        guard let members = tree.members else { throw fail("\(path) must be an object") }
        if let unknown = members.first(where: { !modelKeys.contains($0.key) }) { throw fail("unknown key '\(path).\(unknown.key)'") }
        var entry = Entry(rates: try rates(tree, at: path, allowed: modelKeys, fail: fail))
        if let long = tree["long_context"] {
            guard let longMembers = long.members else { throw fail("\(path).long_context must be an object") }
            if let unknown = longMembers.first(where: { !longKeys.contains($0.key) }) {
                throw fail("unknown key '\(path).long_context.\(unknown.key)'")
            }
            guard let above = long["above_input_tokens"]?.int, above > 0 else {
                throw fail("\(path).long_context.above_input_tokens must be a positive whole number")
            }
            entry.longContext = (above, try rates(long, at: path + ".long_context", allowed: longKeys, fail: fail))
        }
        if let until = tree["valid_until"] {
            guard let text = until.string, let day = isoDay(text) else { throw fail("\(path).valid_until must be a date YYYY-MM-DD") }
            entry.validUntilDay = day
        }
        return entry
    }

    private static func rates(_ tree: JSONTree, at path: String, allowed: Set<String>, fail: (String) -> Failure) throws(Failure) -> Rates {
        func price(_ key: String, required: Bool) throws(Failure) -> Double? {
            guard let value = tree[key] else {
                if required { throw fail("\(path).\(key) is missing") }
                return nil
            }
            guard case .number(let literal) = value, let number = Double(literal), number.isFinite, number >= 0 else {
                throw fail("\(path).\(key) must be a non-negative number")
            }
            return number
        }
        return Rates(input: try price("input", required: true)!, output: try price("output", required: true)!,
                     cachedInput: try price("cached_input", required: false), cacheWrite: try price("cache_write", required: false))
    }

    /// `YYYY-MM-DD` as days since 1970-01-01 (proleptic Gregorian, UTC).
    static func isoDay(_ text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0].utf8.count == 4, parts[1].utf8.count == 2, parts[2].utf8.count == 2,
              let year = CheckedInteger.parse(parts[0], in: 1970...9999), let month = CheckedInteger.parse(parts[1], in: 1...12),
              let day = CheckedInteger.parse(parts[2], in: 1...31) else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The day (since 1970-01-01, UTC) a time in seconds since the epoch falls in.
    public static func day(of seconds: Double) -> Int {
        CheckedInteger.clamped((seconds / 86_400).rounded(.down), to: -(1 << 40)...(1 << 40)) ?? 0
    }
}
