import Testing
@testable import LuaRuntime

/// Flags and match spans of ``LinearRegex`` (what `gw.regex` uses): JavaScript's answers, from
/// `node -e 'console.log(/…/.exec(…))'` where the case is not obvious.
@Suite struct LinearRegexSpanTests {
    /// The matched text, or nil.
    func span(_ pattern: String, _ flags: String = "", _ text: String, from: Int = 0) throws -> String? {
        let regex = try LinearRegex(pattern, flags: flags)
        guard let range = regex.firstMatch(in: text, from: from) else { return nil }
        return String(decoding: Array(text.utf8)[range], as: UTF8.self)
    }

    @Test(arguments: [
        // Leftmost, then the alternatives and quantifiers in priority order (a backtracking engine's span).
        ("a|ab", "", "ab", "a"), ("ab|a", "", "ab", "ab"), ("(a|ab)(c|bcd)", "", "abcd", "abcd"),
        ("a+", "", "baaa", "aaa"), ("a+?", "", "baaa", "a"), ("a*?b", "", "aaab", "aaab"), ("a{2,3}?", "", "aaaa", "aa"),
        ("a{2,3}", "", "aaaa", "aaa"), ("<.*>", "", "<a><b>", "<a><b>"), ("<.*?>", "", "<a><b>", "<a>"),
        ("x*", "", "abc", ""), ("(a|b)*?c", "", "zabc", "abc"), ("b??a", "", "ba", "ba"), ("(|a)+", "", "aa", "aa"),
        ("(a|)+", "", "aa", "aa"), ("\\d+", "", "ab 123 45", "123"), ("\\bfoo\\b", "", "a foobar foo", "foo"),
        ("(?:ab)+|a", "", "xababa", "abab"), ("[a-c]+$", "", "ab cb", "cb"), ("é+", "", "caféé", "éé"),
    ])
    func spansAreJavaScripts(_ pattern: String, _ flags: String, _ text: String, _ expected: String) throws {
        #expect(try span(pattern, flags, text) == expected, "/\(pattern)/\(flags).exec(\(text.debugDescription))")
    }

    @Test func offsetsAreUTF8Bytes() throws {
        let regex = try LinearRegex("f+")
        #expect(regex.firstMatch(in: "ééff") == 4..<6)
        #expect(regex.firstMatch(in: "ff éff", from: 1) == 1..<2)
        #expect(regex.firstMatch(in: "ff éff", from: 2) == 5..<7)
        // `^` is the start of the text even when the search starts later (JavaScript's lastIndex).
        #expect(try LinearRegex("^f").firstMatch(in: "ff", from: 1) == nil)
        // `\b` sees the character before the start.
        #expect(try LinearRegex("\\bf").firstMatch(in: "ff f", from: 1) == 3..<4)
    }

    @Test(arguments: [
        ("abc", "i", "xABCx", "ABC"), ("[a-c]+", "i", "xAbCx", "AbC"), ("[^a-c]+", "i", "ABCxyz", "xyz"),
        ("É", "i", "café", "é"), ("é", "i", "CAFÉ", "É"), ("σ", "i", "Σ", "Σ"), ("[A-Z]+", "i", "hello", "hello"),
        ("k", "i", "\u{212A}", nil), ("[a-z]", "i", "\u{212A}", nil), ("s", "i", "ſ", nil), ("\\w+", "i", "Ab_9", "Ab_9"),
        ("ABC", "", "abc", nil),
    ] as [(String, String, String, String?)])
    func ignoreCase(_ pattern: String, _ flags: String, _ text: String, _ expected: String?) throws {
        #expect(try span(pattern, flags, text) == expected, "/\(pattern)/\(flags).exec(\(text.debugDescription))")
    }

    @Test(arguments: [
        ("^b", "", "a\nb", nil), ("^b", "m", "a\nb", "b"), ("a$", "", "a\nb", nil), ("a$", "m", "a\nb", "a"),
        ("^b$", "m", "a\r\nb\r\nc", "b"), ("^b$", "m", "a\rb\rc", "b"), ("^$", "m", "a\r\nb", ""), ("^c", "m", "a\u{2028}c", "c"),
        ("a.b", "", "a\nb", nil), ("a.b", "s", "a\nb", "a\nb"), ("a.b", "", "a\u{2029}b", nil), ("a.b", "s", "a\rb", "a\rb"),
        // One difference, documented: the engine reads Unicode scalars (as JavaScript does with the
        // `u` flag), so `.` is a whole emoji where JavaScript without `u` sees two UTF-16 halves.
        ("a.c", "", "a\u{1F600}c", "a\u{1F600}c"), ("^.+$", "ms", "x\ny", "x\ny"),
    ] as [(String, String, String, String?)])
    func multilineAndDotAll(_ pattern: String, _ flags: String, _ text: String, _ expected: String?) throws {
        #expect(try span(pattern, flags, text) == expected, "/\(pattern)/\(flags).exec(\(text.debugDescription))")
    }

    @Test(arguments: [("x", "unknown flag 'x'"), ("u", "the flag 'u' is not supported"), ("y", "'y' is not supported"),
                      ("ii", "the flag 'i' is repeated")])
    func unknownFlagsAreRefused(_ flags: String, _ reason: String) {
        #expect {
            _ = try LinearRegex("a", flags: flags)
        } throws: { error in
            (error as? LinearRegex.SyntaxError)?.message.contains(reason) == true
        }
    }

    @Test func flagsParse() throws {
        #expect(try LinearRegex("a", flags: "gims").flags == [.global, .ignoreCase, .multiline, .dotAll])
        #expect(try LinearRegex("a").flags == [])
    }

    /// The nested-quantifier patterns that backtrack for minutes answer in one linear pass, with spans too.
    @Test func pathologicalPatternsFinishWithSpans() throws {
        let text = String(repeating: "a", count: 20_000) + "!"
        #expect(try LinearRegex("^(a+)+$").firstMatch(in: text) == nil)
        #expect(try LinearRegex("(a+)+$", flags: "i").firstMatch(in: text) == nil)
        #expect(try LinearRegex("(a|aa)+!").firstMatch(in: text) == 0..<20_001)
        #expect(try LinearRegex("(a*)*b", flags: "m").firstMatch(in: text) == nil)
    }

    @Test func invalidUTF8IsReadAsReplacementCharacters() throws {
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xE2, 0x82, 0x63]  // a, invalid, b, truncated sequence, c
        let regex = try LinearRegex("a.b..c")
        let found = bytes.withUnsafeBufferPointer { LinearRegex.Matcher(regex).search($0, from: 0, wantSpan: true) }
        #expect(found == .match(0, 6))
        let replacement = try LinearRegex("\u{FFFD}")
        let first = bytes.withUnsafeBufferPointer { LinearRegex.Matcher(replacement).search($0, from: 2, wantSpan: true) }
        #expect(first == .match(3, 4))
    }
}
