import FoundationEssentials
import Testing
@testable import LuaRuntime

/// Conditional routing's `$regex` engine: JavaScript `RegExp.test` semantics, linear time, and a
/// clear refusal for what it does not support.
@Suite struct LinearRegexTests {
    func test(_ pattern: String, _ text: String) throws -> Bool {
        try LinearRegex(pattern).matches(text)
    }

    @Test(arguments: [
        ("abc", "xxabcxx", true), ("abc", "ab", false), ("^abc", "xabc", false), ("abc$", "abcx", false),
        ("^$", "", true), ("", "anything", true), ("a.c", "abc", true), ("a.c", "a\nc", false),
        ("[a-c]+", "zzbz", true), ("^[^a-c]+$", "xyz", true), ("^[^a-c]+$", "xaz", false),
        (#"^\d{3}-\d{4}$"#, "555-1234", true), (#"^\d{3}-\d{4}$"#, "555-12345", false),
        (#"\w+@\w+\.com"#, "mail bob@example.com now", true), (#"^\s*$"#, " \t ", true), (#"\S"#, "   ", false),
        (#"\D\W"#, "a!", true), ("^(gpt-4|claude)(-turbo)?$", "gpt-4-turbo", true), ("^(gpt-4|claude)(-turbo)?$", "gpt-5", false),
        ("^(?:ab)+$", "ababab", true), ("^(?:ab)+$", "ababa", false), ("^a{2,3}$", "aaaa", false), ("^a{2,3}$", "aaa", true),
        ("^a{2,}$", "aaaaaaa", true), ("^a{2}$", "a", false), ("^a*?b+?$", "aabbb", true), ("x{,2}", "x{,2}", true),
        ("a{", "a{", true), (#"\bpro\b"#, "tier pro", true), (#"\bpro\b"#, "tier professional", false), (#"\Bro"#, "pro", true),
        (#"\x41\u0042"#, "AB", true), (#"[\d.]+"#, "v1.2", true), (#"[-a]"#, "-", true), (#"\.\*\+\?\(\)\[\]\{\}\|\^\$\\\/"#, #".*+?()[]{}|^$\/"#, true),
        ("[]", "a", false), ("[^]", "a", true), ("(a*)*b", "aaab", true), ("(a|b)*c", "ababx", false), ("é+", "caféé", true),
    ])
    func javascriptSemantics(_ pattern: String, _ text: String, _ expected: Bool) throws {
        #expect(try test(pattern, text) == expected, "/\(pattern)/.test(\(text.debugDescription))")
    }

    @Test(arguments: [
        (#"(a)\1"#, "backreferences"), ("(?=a)", "lookahead"), ("(?!a)", "lookahead"), ("(?<=a)b", "lookbehind"),
        ("(?<name>a)", "named groups"), ("(?i)abc", "inline flags"), (#"\k<n>"#, "named backreferences"),
        (#"\p{L}"#, "Unicode property"), ("a**", "quantifier after a quantifier"), ("*a", "nothing to repeat"),
        ("(a", "unclosed '('"), ("a)", "unmatched ')'"), ("[a", "unclosed '['"), ("[z-a]", "out of order"),
        ("a{3,2}", "out of order"), ("a{1001}", "above 1000"), ("(a{1000}){1000}", "too large"), (#"\q"#, "unknown escape"),
        ("a++", "possessive"),
    ])
    func unsupportedPatternsAreRefused(_ pattern: String, _ reason: String) {
        #expect {
            _ = try LinearRegex(pattern)
        } throws: { error in
            (error as? LinearRegex.SyntaxError)?.message.contains(reason) == true
        }
    }

    @Test func overlongPatternIsRefused() {
        #expect(throws: LinearRegex.SyntaxError.self) { try LinearRegex(String(repeating: "a", count: 1_001)) }
    }

    /// Catastrophic backtracking in Swift's `Regex` (minutes at 22 characters) is one linear pass here.
    @Test func pathologicalPatternsFinishQuickly() throws {
        let text = String(repeating: "a", count: 10_000) + "!"
        for pattern in ["^(a+)+$", "^(a|a)*$", "^(a*)*$", "(a|aa)+$", "^(.*a){20}$", "^(\\w+\\s?)*$"] {
            #expect(try test(pattern, text) == false, "\(pattern)")
        }
        #expect(try test("^(a+)+$", String(repeating: "a", count: 10_000)))
    }

    /// The engine against Swift's `Regex` on many small, non-pathological patterns and inputs
    /// (the syntax both read the same way).
    @Test func agreesWithSwiftRegexOnSmallPatterns() throws {
        var generator = SplitMix(seed: 12)
        let atoms = ["a", "b", "c", ".", "[ab]", "[^a]", "[a-c]", "\\d", "\\w", "(a|b)", "(?:ab|c)", "(a*)", "x"]
        let quantifiers = ["", "", "", "*", "+", "?", "{2}", "{1,2}", "{0,}", "*?", "+?"]
        var compared = 0
        for _ in 0..<400 {
            var pattern = generator.next(4) == 0 ? "^" : ""
            for _ in 0..<(1 + generator.next(4)) {
                pattern += atoms[generator.next(atoms.count)] + quantifiers[generator.next(quantifiers.count)]
                if generator.next(8) == 0 { pattern += "|" }
            }
            if pattern.hasSuffix("|") { pattern += "c" }
            if generator.next(4) == 0 { pattern += "$" }
            let ours = try LinearRegex(pattern)
            let theirs = try Regex(pattern)
            for _ in 0..<20 {
                let text = String((0..<generator.next(8)).map { _ in Array("abcx1 ")[generator.next(6)] })
                #expect(ours.matches(text) == text.contains(theirs), "/\(pattern)/ on \(text.debugDescription)")
                compared += 1
            }
        }
        #expect(compared == 8_000)
    }
}

/// A small deterministic generator, so a failing case can be reproduced.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(truncatingIfNeeded: z % UInt64(truncatingIfNeeded: bound))
    }
}
