import Foundation
import NIOCore
import Synchronization
import Testing
@testable import GatewayCore

/// Cost and budgets (issue 17): the pricing table as data, what a request costs from the usage
/// its provider reported, and key budgets per period.
@Suite struct CostTests {
    static let providers = Set(((try? FileManager.default.contentsOfDirectory(atPath: GoldenFixtureTests.root.appendingPathComponent("providers").path)) ?? [])
        .filter { $0.hasSuffix(".lua") }.map { String($0.dropLast(4)) })

    func folder(_ files: [String: String]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pricing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return url.path
    }

    static func file(_ models: String, provider: String = "openai", extra: String = "") -> String {
        #"{"provider":"\#(provider)","currency":"USD","unit":"per_million_tokens","source":"https://example.com/p","read_on":"2026-11-27","models":\#(models)\#(extra)}"#
    }

    @Test func theBundledTablesLoad() throws {
        let table = try PricingTable.load(folder: GoldenFixtureTests.root.appendingPathComponent("pricing").path,
                                          knownProviders: Self.providers)
        #expect(table.modelCount >= 20)
        #expect(table.entry(provider: "anthropic", model: "claude-haiku-4-5", day: PricingTable.isoDay("2026-11-27")!) != nil)
        // An alias reaches its model's entry.
        let day = PricingTable.isoDay("2026-11-27")!
        #expect(table.entry(provider: "anthropic", model: "claude-haiku-4-5-20251001", day: day)
            == table.entry(provider: "anthropic", model: "claude-haiku-4-5", day: day))
        #expect(table.entry(provider: "openai", model: "no-such-model", day: day) == nil)
    }

    @Test func costFollowsTheFormulaWithFallbacksAndTheLongTier() throws {
        let table = try PricingTable.load(folder: folder([
            "openai.json": Self.file(#"{"m":{"input":2,"output":8,"cached_input":0.5},"n":{"input":1,"output":2,"long_context":{"above_input_tokens":1000,"input":10,"output":20}}}"#),
        ]), knownProviders: Self.providers)
        let m = try #require(table.entry(provider: "openai", model: "m", day: 0))
        // 1,000 uncached × 2 + 500 read × 0.5 + 100 written × 2 (no cache_write: the input price) + 300 × 8.
        let cost = PricingTable.cost(.init(uncached: 1000, cacheRead: 500, cacheWritten: 100, output: 300), entry: m)
        #expect(abs(cost - (2000 + 250 + 200 + 2400) / 1_000_000) < 1e-12)
        let n = try #require(table.entry(provider: "openai", model: "n", day: 0))
        #expect(abs(PricingTable.cost(.init(uncached: 1000, output: 10), entry: n) - (1000 + 20) / 1e6) < 1e-12)
        #expect(abs(PricingTable.cost(.init(uncached: 1001, output: 10), entry: n) - (10010 + 200) / 1e6) < 1e-12,
                "past the threshold the whole request is billed at the long prices")
    }

    @Test func overlaysReplaceWholeEntriesAndValidUntilEndsAPrice() throws {
        let table = try PricingTable.load(folder: folder([
            "openai.json": Self.file(#"{"a":{"input":1,"output":1},"b":{"input":1,"output":1,"valid_until":"2026-11-30"}}"#),
            "openai.local.json": Self.file(#"{"a":{"input":5,"output":6}}"#),
        ]), knownProviders: Self.providers)
        #expect(table.entry(provider: "openai", model: "a", day: 0)?.rates == .init(input: 5, output: 6, cachedInput: nil, cacheWrite: nil))
        #expect(table.entry(provider: "openai", model: "b", day: PricingTable.isoDay("2026-11-30")!) != nil)
        #expect(table.entry(provider: "openai", model: "b", day: PricingTable.isoDay("2026-12-01")!) == nil)
        #expect(PricingTable.isoDay("1970-01-02") == 1 && PricingTable.isoDay("2000-03-01") == 11_017 && PricingTable.isoDay("2026-13-01") == nil)
    }

    @Test func aFileThatBreaksTheFormatIsRefusedByName() throws {
        for (files, says) in [
            (["openai.json": Self.file(#"{"a":{"input":1,"output":1,"discount":3}}"#)], "unknown key 'models.a.discount'"),
            (["openai.json": Self.file(#"{"a":{"input":1}}"#)], "models.a.output is missing"),
            (["openai.json": Self.file(#"{"a":{"input":-1,"output":1}}"#)], "non-negative"),
            (["openai.json": Self.file(#"{"a":{"input":1,"output":1}}"#, extra: #","aliases":{"b":"c"}"#)], "aliases.b must name"),
            (["groq.json": Self.file(#"{}"#)], "named for another provider"),
            (["nosuch.json": Self.file(#"{}"#, provider: "nosuch")], "not a loaded provider"),
            (["openai.json": Self.file(#"{}"#, extra: #","region":"eu""#)], "unknown key 'region'"),
        ] {
            let path = try folder(files)
            do throws(PricingTable.Failure) {
                _ = try PricingTable.load(folder: path, knownProviders: Self.providers)
                Issue.record("accepted: \(files)")
            } catch {
                #expect(error.message.contains(says), "\(error.message)")
            }
        }
    }

    @Test func usageIsReadWithItsCacheCountsInEitherDialect() {
        func scan(_ text: String) -> UsageScanner.Usage {
            Array(text.utf8).withUnsafeBytes { UsageScanner.scan($0) }
        }
        let chat = scan(#"{"usage":{"prompt_tokens":1200,"completion_tokens":50,"prompt_tokens_details":{"cached_tokens":1000,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":7}}}"#)
        #expect(chat == .init(input: 1200, output: 50, cachedInInput: 1000))
        let responses = scan(#"{"usage":{"input_tokens":300,"input_tokens_details":{"cached_tokens":200},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":4}}}"#)
        #expect(responses == .init(input: 300, output: 9, cachedInInput: 200))
        let messages = scan(#"{"usage":{"input_tokens":20,"cache_creation_input_tokens":400,"cache_read_input_tokens":3000,"output_tokens":60}}"#)
        #expect(messages == .init(input: 20, output: 60, cacheRead: 3000, cacheWritten: 400))
        var fields = RequestRecord.Fields()
        fields.take(chat)
        #expect(fields.pricedUsage == .init(uncached: 200, cacheRead: 1000, cacheWritten: 0, output: 50))
        fields = RequestRecord.Fields()
        fields.take(messages)
        #expect(fields.pricedUsage == .init(uncached: 20, cacheRead: 3000, cacheWritten: 400, output: 60))
    }

    // MARK: Budgets

    final class Wall: Sendable {
        let now = Mutex<Double>(1_764_201_600)  // 2025-11-27T00:00:00Z
        var read: @Sendable () -> Double { { self.now.withLock { $0 } } }
    }

    @Test func budgetsCountSpendingPerEpochAlignedPeriod() throws {
        let wall = Wall()
        let store = LocalLimitStore(wallClock: wall.read)
        let budget = try KeyBudget.parse(JSONTree.parse(Array(#"{"max_usd":1.5,"period":"1d"}"#.utf8))!, owner: "k")
        #expect(budget == KeyBudget(maxUSD: 1.5, periodSeconds: 86_400))
        let key = LimitedKey(label: "gateway key 'team-a'", id: "gk:team-a", limits: KeyLimits(), budget: budget)
        store.spend(key, usd: 1.0)
        wall.now.withLock { $0 += 3600 }
        store.spend(key, usd: 0.75)
        let standing = store.budget(key)
        #expect(abs(standing.spentUSD - 1.75) < 1e-9)
        #expect(standing.resetsAt == 1_764_201_600 + 86_400)
        let error = standing.refusal(for: key, budget: budget)
        #expect(error.status == 429 && error.code == .budgetExceeded)
        #expect(error.message.contains("$1.75 of $1.50") && error.message.contains("2025-11-28T00:00:00Z"), "\(error.message)")
        #expect(error.headers.first { $0.0 == "retry-after" }?.1 == String(86_400 - 3600))
        // The next period starts from nothing.
        wall.now.withLock { $0 += 86_400 }
        #expect(store.budget(key).spentUSD == 0)
        for (json, says) in [(#"{"max_usd":0,"period":"1d"}"#, "positive"), (#"{"max_usd":5,"period":"1mo"}"#, "hours, days or weeks"),
                             (#"{"max_usd":5,"period":"400d"}"#, "at most 366 days"), (#"{"max_usd":5}"#, "no period"),
                             (#"{"max_usd":5,"period":"1d","currency":"EUR"}"#, "unknown budget field 'currency'")] {
            do {
                _ = try KeyBudget.parse(JSONTree.parse(Array(json.utf8))!, owner: "k")
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.message.contains(says), "\(json): \(error.message)")
            }
        }
    }
}
