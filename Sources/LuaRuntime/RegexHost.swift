import CLuaShim

/// The compiled patterns of one VM for `gw.regex` (see `Sources/CLuaShim/gw_regex.c`), so a check
/// that runs the same pattern on every request compiles it once per VM.
///
/// Bounded: at 256 patterns, or 200,000 instructions in all (a pattern compiles to at most
/// ``LinearRegex/maximumProgramSize``), the cache is emptied before the next one is added. Patterns
/// come from configs, which clients can send, so a bound on count alone would not do.
final class RegexCache {
    static let maximumEntries = 256
    static let maximumInstructions = 200_000

    private struct Key: Hashable {
        var flags: String
        var pattern: String
    }

    private var entries: [Key: LinearRegex.Matcher] = [:]
    private var instructions = 0

    var count: Int { entries.count }

    /// The matcher for `pattern` with `flags` (JavaScript letters), compiled on first use.
    func matcher(pattern: String, flags: String) throws(LinearRegex.SyntaxError) -> LinearRegex.Matcher {
        let key = Key(flags: flags, pattern: pattern)
        if let found = entries[key] { return found }
        let matcher = LinearRegex.Matcher(try LinearRegex(pattern, flags: flags))
        let size = matcher.regex.program.count
        if entries.count >= Self.maximumEntries || instructions + size > Self.maximumInstructions {
            entries.removeAll()
            instructions = 0
        }
        entries[key] = matcher
        instructions += size
        return matcher
    }

    /// Connects `gw.regex` of `state` to this cache (retained by the caller for the VM's lifetime).
    func install(on state: OpaquePointer, retained: Unmanaged<RegexCache>) {
        sb_set_regex(state, regexCompileBridge, regexExecBridge, retained.toOpaque())
    }
}

/// `sb_regex_compile_fn`: a handle (the cached matcher, unretained: the cache keeps it until its
/// next compile call) or NULL with the reason in `error`.
private let regexCompileBridge: sb_regex_compile_fn = { context, pattern, patternLength, flags, flagsLength, needSpans, global, errorBuffer, errorSize in
    guard let context else { return nil }
    let cache = Unmanaged<RegexCache>.fromOpaque(context).takeUnretainedValue()
    let patternText = String(decoding: UnsafeRawBufferPointer(start: pattern, count: patternLength), as: UTF8.self)
    let flagsText = String(decoding: UnsafeRawBufferPointer(start: flags, count: flagsLength), as: UTF8.self)
    do throws(LinearRegex.SyntaxError) {
        let matcher = try cache.matcher(pattern: patternText, flags: flagsText)
        if needSpans != 0 && !matcher.regex.spansAreJavaScripts {
            throw LinearRegex.SyntaxError(message: "a repeated group that can match empty before it matches text (as in "
                + "(|a)* or (a*?)?) gives a different match than JavaScript in find and gsub (test is fine); "
                + "put the empty choice last, as in (a|)*")
        }
        global?.pointee = matcher.regex.flags.contains(.global) ? 1 : 0
        return UnsafeMutableRawPointer(Unmanaged.passUnretained(matcher).toOpaque())
    } catch {
        let shown = patternText.unicodeScalars.count > 80 ? String(patternText.unicodeScalars.prefix(80)) + "…" : patternText
        copyMessage("\(error.message) in /\(shown)/", to: errorBuffer, size: errorSize)
        return nil
    }
}

/// `sb_regex_exec_fn`.
private let regexExecBridge: sb_regex_exec_fn = { compiled, text, length, from, wantSpan, deadline, start, end in
    guard let compiled else { return 0 }
    let matcher = Unmanaged<LinearRegex.Matcher>.fromOpaque(compiled).takeUnretainedValue()
    let base = UnsafeRawPointer(text).map { $0.assumingMemoryBound(to: UInt8.self) }
    let bytes = UnsafeBufferPointer(start: base, count: length)
    switch matcher.search(bytes, from: from, wantSpan: wantSpan != 0, deadline: deadline) {
    case .match(let matchStart, let matchEnd):
        start?.pointee = matchStart
        end?.pointee = matchEnd
        return 1
    case .noMatch: return 0
    case .deadline: return -1
    }
}

/// Copies `message` as a NUL-terminated C string into `buffer` of `size` bytes, cut at a character
/// boundary when it does not fit.
private func copyMessage(_ message: String, to buffer: UnsafeMutablePointer<CChar>?, size: Int) {
    guard let buffer, size > 0 else { return }
    var written = 0
    for scalar in message.unicodeScalars {
        let encoded = Array(String(scalar).utf8)
        guard written + encoded.count < size else { break }
        for byte in encoded {
            buffer[written] = CChar(bitPattern: byte)
            written += 1
        }
    }
    buffer[written] = 0
}
