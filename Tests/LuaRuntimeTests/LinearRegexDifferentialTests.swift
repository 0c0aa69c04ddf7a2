import Foundation
import Logging
import Testing
@testable import LuaRuntime

/// ``LinearRegex`` and `gw.regex.gsub` against JavaScript itself: 1,500 generated patterns in the
/// supported subset, with flags, and what node answered for `exec` (the span) and
/// `replace(/…/g, "<$&>")` (every match, empty ones included), and `test`. Tests/Fixtures/regex/js-spans.js
/// regenerates the file. The few patterns whose spans the engine cannot give as JavaScript does
/// (``LinearRegex/spansAreJavaScripts``) must be refused by find and gsub instead.
@Suite struct LinearRegexDifferentialTests {
    struct Case: Decodable {
        var pattern: String
        var flags: String
        var text: String
        var span: [Int]?
        var replaced: String
    }

    static func cases() throws -> [Case] {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/regex/js-spans.json")
        return try JSONDecoder().decode([Case].self, from: Data(contentsOf: file))
    }

    /// A Lua string literal of `text`'s bytes.
    static func literal(_ text: String) -> String {
        "\"" + text.utf8.map { "\\\($0)" }.joined() + "\""
    }

    @Test func spansAndReplacementsAreJavaScripts() throws {
        let cases = try Self.cases()
        #expect(cases.count == 1_500)
        let vm = try LuaVM(limits: LuaLimits(), logger: Logger(label: "test"))
        var compared = 0
        var refused = 0
        for item in cases {
            let regex = try LinearRegex(item.pattern, flags: item.flags)
            #expect(regex.matches(item.text) == (item.span != nil), "/\(item.pattern)/\(item.flags).test(\(item.text.debugDescription))")
            guard regex.spansAreJavaScripts else {
                // find and gsub refuse these (an empty iteration JavaScript would reject comes first).
                #expect(throws: LuaError.self) {
                    try vm.evaluate("return gw.regex.gsub(\(Self.literal(item.pattern)), '', '')")
                }
                refused += 1
                continue
            }
            let span = regex.firstMatch(in: item.text).map { [$0.lowerBound, $0.upperBound] }
            #expect(span == item.span, "/\(item.pattern)/\(item.flags).exec(\(item.text.debugDescription))")
            let replaced = try vm.evaluate("return (gw.regex.gsub(\(Self.literal(item.pattern)), \(Self.literal(item.text)), '<$&>', "
                                           + "\(Self.literal(item.flags + "g"))))")
            #expect(replaced == item.replaced, "\(item.text.debugDescription).replace(/\(item.pattern)/\(item.flags)g, '<$&>')")
            compared += 1
        }
        #expect(compared + refused == cases.count)
        // The generator leans on (|a) and lazy quantifiers on purpose; real patterns are rarely refused.
        #expect(refused < cases.count / 10, "\(refused) refused")
    }
}
