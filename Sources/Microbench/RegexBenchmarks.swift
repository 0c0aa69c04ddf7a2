import Logging
import LuaRuntime

/// The per-call cost of `gw.regex` as a check plugin pays it: the pattern already in the VM's
/// cache, on about 1 KB of chat text, called from Lua (argument checks, cache lookup, the
/// linear-time search).
struct RegexBenchmarks {
    private let vm: LuaVM

    /// About 1 KB of prose with no secret and one e-mail address near the end.
    static let text: String = {
        let sentence = "The quarterly report is attached; please review the revenue figures before Friday. "
        var text = String(repeating: sentence, count: 12)
        text += "Questions go to finance.team@example.com today."
        return text
    }()

    struct Case {
        var id: String
        var label: String
        var call: String
        var expected: String
        /// The text's size, when it is not ``RegexBenchmarks/text``.
        var bytes: Int? = nil
    }

    static let cases = [
        Case(id: "regex_test_1kb", label: "gw.regex.test, cached, 1 KB, no match (whole text scanned)",
             call: #"gw.regex.test('\\b(password|secret|api[_-]?key)\\b', text, 'i')"#, expected: "false"),
        Case(id: "regex_find_1kb", label: "gw.regex.find, cached, 1 KB, e-mail near the end",
             call: #"gw.regex.find('[\\w.+-]+@[\\w-]+\\.[\\w.]+', text)"#,
             expected: "1013"),
        Case(id: "regex_gsub_1kb", label: "gw.regex.gsub g, cached, 1 KB, redact e-mails",
             call: #"gw.regex.gsub('[\\w.+-]+@[\\w-]+\\.[\\w.]+', text, '[EMAIL]', 'g')"#, expected: "[EMAIL]"),
        Case(id: "regex_test_short", label: "gw.regex.test, cached, 16 bytes (the fixed cost of a call)",
             call: #"gw.regex.test('\\b(password|secret|api[_-]?key)\\b', 'gpt-4o-mini-2024', 'i')"#, expected: "false",
             bytes: 16),
        Case(id: "regex_test_1kb_cjk", label: "gw.regex.test i, cached, 1 KB of CJK text, classes, no match",
             call: #"gw.regex.test('[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}', cjk, 'i')"#, expected: "false",
             bytes: 1_020),
        Case(id: "lua_find_1kb", label: "string.find (Lua pattern), 1 KB, no match, for scale",
             call: "string.find(text, '%f[%w][Pp]assword%f[%W]')", expected: "nil"),
    ]

    init(logger: Logger) throws {
        vm = try LuaVM(limits: LuaLimits(), logger: logger)
        var text = Self.text
        let escaped = text.withUTF8 { bytes in bytes.map { "\\\($0)" }.joined() }
        _ = try vm.evaluate("text = \"\(escaped)\"; return #text")
        _ = try vm.evaluate("cjk = string.rep('\\u{6587}\\u{5B57}', 170); return #cjk")  // 1,020 bytes
    }

    func run(_ sampler: Sampler, progress: (String) -> Void) throws -> [BenchmarkResult] {
        var results: [BenchmarkResult] = []
        for item in Self.cases {
            // The first result: the boolean, the start offset, the new text, or nil.
            let check = try vm.evaluate("return tostring((\(item.call)))")
            guard let check, check.contains(item.expected) else {
                throw BenchmarkError("\(item.id) returned \(check ?? "nothing"), expected \(item.expected)")
            }
            _ = try vm.evaluate("function bench_\(item.id)(n) for _ = 1, n do \(item.call) end end")
            progress(item.label)
            let sample = try sampler.measure { n in
                _ = try vm.evaluate("bench_\(item.id)(\(n))")
            }
            results.append(BenchmarkResult(id: item.id, label: item.label, bytes: item.bytes ?? Self.text.utf8.count, baseline: nil, sample: sample))
        }
        return results
    }
}
