import FoundationEssentials
import Synchronization

/// The pricing table in force, read from a folder and read again when a file in it changes (the
/// script watcher polls ``reloadIfChanged(knownProviders:)``). A folder that fails to read keeps
/// the previous table, and says why.
public final class PricingStore: Sendable {
    public let folder: String?
    private struct State {
        var table = PricingTable()
        var fingerprint = ""
        /// Today (days since the epoch) and when to look again, so a request does not read the
        /// calendar: valid_until is checked by day.
        var day = 0
        var dayEnds = 0.0
    }
    private let state = Mutex(State())

    /// No table: every request is unpriced.
    public init() { folder = nil }

    /// Reads `folder` now; a folder that fails the format fails startup.
    public init(folder: String, knownProviders: Set<String>) throws(PricingTable.Failure) {
        self.folder = folder
        let table = try PricingTable.load(folder: folder, knownProviders: knownProviders)
        let fingerprint = Self.fingerprint(folder)
        state.withLock {
            $0.table = table
            $0.fingerprint = fingerprint
        }
    }

    public var table: PricingTable { state.withLock { $0.table } }

    /// What a request cost, nil when its model has no price today.
    public func cost(provider: String, model: String, usage: PricingTable.Usage) -> Double? {
        let now = Date().timeIntervalSince1970
        let entry: PricingTable.Entry? = state.withLock { state in
            if now >= state.dayEnds {
                state.day = PricingTable.day(of: now)
                state.dayEnds = Double(state.day + 1) * 86_400
            }
            return state.table.entry(provider: provider, model: model, day: state.day)
        }
        return entry.map { PricingTable.cost(usage, entry: $0) }
    }

    /// Reads the folder again when a file in it changed. Returns nil when nothing changed, else
    /// the outcome: `.success(models)` or `.failure` (the previous table stays in force).
    /// `knownProviders` is asked only then: a poll that finds no change does nothing else.
    public func reloadIfChanged(knownProviders: () -> Set<String>) -> Result<Int, PricingTable.Failure>? {
        guard let folder else { return nil }
        let fingerprint = Self.fingerprint(folder)
        guard state.withLock({ $0.fingerprint != fingerprint }) else { return nil }
        do throws(PricingTable.Failure) {
            let table = try PricingTable.load(folder: folder, knownProviders: knownProviders())
            state.withLock {
                $0.table = table
                $0.fingerprint = fingerprint
            }
            return .success(table.modelCount)
        } catch {
            state.withLock { $0.fingerprint = fingerprint }  // reported once per change, not per poll
            return .failure(error)
        }
    }

    static func fingerprint(_ folder: String) -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.map { $0 + ":" + FileStamp.of(folder + "/" + $0) }.joined(separator: "\n")
    }
}
