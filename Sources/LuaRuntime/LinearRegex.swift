import Glibc

/// A regular expression engine for conditional routing's `$regex` and the scripts' `gw.regex` that
/// runs in time linear in the input (times the pattern's size), whatever the pattern.
///
/// Swift's `Regex` backtracks: `^(a+)+$` against 22 characters of client metadata held an event
/// loop for minutes, `/health` included. This is a Thompson NFA simulated Pike-VM style (every
/// thread advances one character at a time; a state is on the list at most once per step), so
/// the worst case is input length × program size, and the program size is capped.
///
/// It supports the JavaScript subset configs use: literals and escapes (`\t \n \r \v \f \0 \xHH
/// \uHHHH` and escaped punctuation), `.`, classes `[...]` with ranges and negation, `\d \w \s \D \W
/// \S`, `\b \B`, anchors `^ $`, groups `( )` and `(?: )`, alternation, `* + ?` and `{m}` `{m,}`
/// `{m,n}`, greedy or lazy, and the flags `i` (case-insensitive, JavaScript's non-Unicode case
/// folding), `m` (`^`/`$` at line starts and ends), `s` (`.` matches line terminators too) and `g`
/// (global: only meaningful to a replace-all, which the caller drives). Anything else —
/// backreferences, lookaround, named groups, inline flags, other flags, an oversized pattern — is
/// refused with a reason when the pattern is compiled, never silently misread.
///
/// Which span matches follows JavaScript (a backtracking engine): the leftmost start, and from it
/// the first alternative and greedy/lazy choice in priority order (`a|ab` on "ab" matches "a").
/// Threads are kept in priority order, each remembers where its match started, and the first one
/// to reach the match state wins, cutting the lower-priority threads.
///
/// Text is UTF-8; match positions are UTF-8 byte offsets. Bytes that are not valid UTF-8 are read
/// as U+FFFD (one per byte), so offsets stay those of the bytes given.
///
///     let regex = try LinearRegex("^gpt-4(o|-turbo)?$")
///     regex.matches("gpt-4o")  // true
public struct LinearRegex: Sendable {
    /// Longest pattern accepted, in Unicode scalars.
    public static let maximumPatternLength = 1_000
    /// Most instructions a pattern may compile to (after expanding `{m,n}`).
    public static let maximumProgramSize = 10_000
    /// Largest bound accepted in `{m,n}`.
    public static let maximumRepeat = 1_000

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// JavaScript's flags that the engine supports.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// `i`
        public static let ignoreCase = Flags(rawValue: 1)
        /// `m`
        public static let multiline = Flags(rawValue: 2)
        /// `s`
        public static let dotAll = Flags(rawValue: 4)
        /// `g`: the engine itself ignores it; a replace-all reads it.
        public static let global = Flags(rawValue: 8)

        /// Parses JavaScript flag letters; refuses unknown and repeated ones.
        public init(_ letters: String) throws(SyntaxError) {
            var flags: Flags = []
            for letter in letters.unicodeScalars {
                let flag: Flags
                switch letter {
                case "i": flag = .ignoreCase
                case "m": flag = .multiline
                case "s": flag = .dotAll
                case "g": flag = .global
                case "u", "y", "d", "v":
                    throw SyntaxError(message: "the flag '\(letter)' is not supported (supported: g, i, m, s)")
                default:
                    throw SyntaxError(message: "unknown flag '\(letter.escaped(asASCII: true))' (supported: g, i, m, s)")
                }
                guard !flags.contains(flag) else { throw SyntaxError(message: "the flag '\(letter)' is repeated") }
                flags.insert(flag)
            }
            self = flags
        }
    }

    let program: [Instruction]
    let sets: [ScalarSet]
    /// The source, for messages and tests.
    public let pattern: String
    public let flags: Flags
    /// The program starts with `^` (without `m`): only a match at offset 0 is possible.
    let anchoredAtStart: Bool

    /// Compiles `pattern` without flags (conditional routing's `$regex`).
    public init(_ pattern: String) throws(SyntaxError) {
        try self.init(pattern, flags: Flags())
    }

    /// Compiles `pattern` with JavaScript flag letters (`"gi"`).
    public init(_ pattern: String, flags letters: String) throws(SyntaxError) {
        try self.init(pattern, flags: try Flags(letters))
    }

    public init(_ pattern: String, flags: Flags) throws(SyntaxError) {
        let scalars = Array(pattern.unicodeScalars)
        guard scalars.count <= Self.maximumPatternLength else {
            throw SyntaxError(message: "the pattern is longer than \(Self.maximumPatternLength) characters")
        }
        var parser = Parser(scalars: scalars)
        let tree = try parser.parseWhole()
        var compiler = Compiler(sets: parser.sets, flags: flags)
        try compiler.emit(tree)
        compiler.append(.match)
        self.program = compiler.program
        self.sets = compiler.sets
        self.pattern = pattern
        self.flags = flags
        if case .assertStart = compiler.program[0] { anchoredAtStart = true } else { anchoredAtStart = false }
        spansAreJavaScripts = !Shape(tree).emptyIterationMatters
    }

    /// False when the pattern has an optional repetition of something that can match empty
    /// before it can match text (`(|a)*`, `(a*?)?`): JavaScript rejects an iteration that matched
    /// empty and backtracks into the longer choice, which the linear engine cannot do, so such a
    /// pattern's span may differ (its yes/no answer never does). `gw.regex.find` and `gsub` refuse it.
    public let spansAreJavaScripts: Bool

    /// Whether the pattern matches anywhere in `text` (JavaScript's `RegExp.prototype.test`).
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            if case .match = Matcher(self).search(bytes, from: 0, wantSpan: false) { return true }
            return false
        }
    }

    /// The leftmost match in `text` at or after the UTF-8 byte offset `from`, as UTF-8 byte
    /// offsets (JavaScript's `exec` with `lastIndex = from`: `^` still means the start of the text,
    /// and `\b` sees the character before `from`).
    public func firstMatch(in text: String, from: Int = 0) -> Range<Int>? {
        var text = text
        return text.withUTF8 { bytes in
            if case .match(let start, let end) = Matcher(self).search(bytes, from: from, wantSpan: true) {
                return start..<end
            }
            return nil
        }
    }

    static func isLineTerminator(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\n" || scalar == "\r" || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F: return true
        default: return false
        }
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { (0x30...0x39).contains(scalar.value) }

    /// JavaScript's `\s`: white space and line terminators.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: return true
        default: return false
        }
    }

    /// JavaScript's `Canonicalize` without the `u` flag: the upper case when it is one character,
    /// except that a non-ASCII character never folds onto an ASCII one (so `ſ` is not `s`).
    static func canonicalize(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        let value = scalar.value
        if value < 0x80 {
            return (0x61...0x7A).contains(value) ? Unicode.Scalar(UInt8(value - 0x20)) : scalar
        }
        guard scalar.properties.changesWhenUppercased else { return scalar }  // a table look-up, no String
        let upper = scalar.properties.uppercaseMapping.unicodeScalars
        guard upper.count == 1, let only = upper.first, only.value >= 0x80 else { return scalar }
        return only
    }

    /// The lower case of a character when it is one character (the members of a class that may
    /// canonicalize like it).
    static func lowercase(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        let value = scalar.value
        if value < 0x80 {
            return (0x41...0x5A).contains(value) ? Unicode.Scalar(UInt8(value + 0x20)) : scalar
        }
        guard scalar.properties.changesWhenLowercased else { return scalar }
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        guard lower.count == 1, let only = lower.first else { return scalar }
        return only
    }
}

// MARK: - Shape

extension LinearRegex {
    /// What a subpattern can do, for ``spansAreJavaScripts``: whether it can match empty, whether
    /// it can match text, and whether one of its empty matches comes before (has priority over) a
    /// non-empty one.
    struct Shape {
        var nullable: Bool
        var consumes: Bool
        var emptyFirst: Bool
        /// An optional repetition's body has `emptyFirst`.
        var emptyIterationMatters: Bool

        init(nullable: Bool, consumes: Bool, emptyFirst: Bool = false, emptyIterationMatters: Bool = false) {
            self.nullable = nullable
            self.consumes = consumes
            self.emptyFirst = emptyFirst
            self.emptyIterationMatters = emptyIterationMatters
        }

        init(_ node: Node) {
            switch node {
            case .empty, .start, .end, .wordBoundary:
                self.init(nullable: true, consumes: false)
            case .scalar, .any, .set:
                self.init(nullable: false, consumes: true)
            case .concatenation(let items):
                var shape = Shape(nullable: true, consumes: false)
                for item in items {
                    let next = Shape(item)
                    // Paths of AB: each path of A followed by each path of B, in order.
                    shape = Shape(
                        nullable: shape.nullable && next.nullable,
                        consumes: shape.consumes || next.consumes,
                        emptyFirst: (shape.nullable && next.emptyFirst) || (shape.emptyFirst && next.nullable),
                        emptyIterationMatters: shape.emptyIterationMatters || next.emptyIterationMatters)
                }
                self = shape
            case .alternation(let branches):
                var shape = Shape(nullable: false, consumes: false)
                for branch in branches {
                    let next = Shape(branch)
                    shape = Shape(
                        nullable: shape.nullable || next.nullable,
                        consumes: shape.consumes || next.consumes,
                        emptyFirst: shape.emptyFirst || next.emptyFirst || (shape.nullable && next.consumes),
                        emptyIterationMatters: shape.emptyIterationMatters || next.emptyIterationMatters)
                }
                self = shape
            case .repeated(let inner, let min, let max, let greedy):
                let body = Shape(inner)
                let optional = max.map { $0 > min } ?? true
                let nullable = min == 0 || body.nullable
                let consumes = body.consumes && max != 0
                // A lazy repetition tries the empty way out first; a greedy one last.
                let lazyEmptyFirst = optional && !greedy && nullable && body.consumes
                self.init(nullable: nullable, consumes: consumes, emptyFirst: body.emptyFirst || lazyEmptyFirst,
                          emptyIterationMatters: body.emptyIterationMatters || (optional && body.emptyFirst))
            }
        }
    }
}

// MARK: - Searching

extension LinearRegex {
    /// The outcome of one search.
    enum Outcome: Equatable {
        case match(Int, Int)
        case noMatch
        /// The deadline given to ``Matcher/search(_:from:wantSpan:deadline:)`` passed.
        case deadline
    }

    /// A compiled pattern with its thread lists, reused from search to search (a per-VM cache
    /// keeps one per pattern). Not thread-safe.
    final class Matcher {
        let regex: LinearRegex
        /// Thread lists and the closure stack, reused from search to search.
        private let scratch: Scratch

        struct Scratch {
            var current: ThreadList
            var next: ThreadList
            var stack: Stack
        }

        init(_ regex: LinearRegex) {
            self.regex = regex
            let size = regex.program.count
            scratch = Scratch(current: ThreadList(capacity: size), next: ThreadList(capacity: size),
                              stack: Stack(capacity: 2 * size + 1))
        }

        deinit {
            scratch.current.deallocate()
            scratch.next.deallocate()
            scratch.stack.deallocate()
        }

        /// Searches `bytes` (UTF-8) from byte offset `from`. With `wantSpan` false, the first thread
        /// to reach the match state answers (a yes/no search); with it, JavaScript's span.
        /// `deadline` (CLOCK_MONOTONIC_COARSE nanoseconds, as `sb_now_coarse`) is looked at every
        /// so often; `.max` for none.
        func search(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, wantSpan: Bool,
                    deadline: UInt64 = .max) -> Outcome {
            // A copy of the pointers: the loop works on locals, without the exclusivity checks a
            // class's stored properties cost. (Lists are cleared before use, so nothing is written back.)
            var scratch = self.scratch
            return regex.program.withUnsafeBufferPointer { program in
                Self.search(regex, program, bytes, from: from, wantSpan: wantSpan, deadline: deadline, &scratch)
            }
        }

        private static func search(_ regex: LinearRegex, _ program: UnsafeBufferPointer<Instruction>,
                                   _ bytes: UnsafeBufferPointer<UInt8>, from: Int, wantSpan: Bool, deadline: UInt64,
                                   _ scratch: inout Scratch) -> Outcome {
            let count = bytes.count
            guard from >= 0, from <= count else { return .noMatch }
            if regex.anchoredAtStart && from > 0 { return .noMatch }
            let ignoreCase = regex.flags.contains(.ignoreCase)
            let sets = regex.sets
            var position = from
            var previous: Unicode.Scalar? = from > 0 ? UTF8Reader.scalar(before: from, in: bytes) : nil
            var (scalar, length) = UTF8Reader.scalar(at: position, in: bytes)
            var matched: (Int, Int)?
            var work = 0
            scratch.current.clear()
            while true {
                if matched == nil && (!regex.anchoredAtStart || position == 0) {
                    // A new, lowest-priority thread starts at every position: the search is unanchored.
                    if add(program, 0, start: position, at: position, previous: previous, next: scalar, count: count,
                           to: &scratch.current, stack: &scratch.stack), !wantSpan {
                        return .match(position, position)
                    }
                }
                if scratch.current.count == 0 && (matched != nil || regex.anchoredAtStart) { break }
                let nextPosition = position + length
                let (following, followingLength) = UTF8Reader.scalar(at: nextPosition, in: bytes)
                scratch.next.clear()
                threads: for index in 0..<scratch.current.count {
                    let pc = scratch.current.dense[index]
                    let start = scratch.current.starts[index]
                    let advances: Bool
                    switch program[pc] {
                    case .match:
                        matched = (start, position)
                        break threads  // lower-priority threads are cut
                    case .scalar(let expected): advances = scalar == expected
                    case .scalarFolded(let expected): advances = scalar.map(LinearRegex.canonicalize) == expected
                    case .any: advances = scalar != nil
                    case .anyButLineTerminator: advances = scalar.map { !LinearRegex.isLineTerminator($0) } ?? false
                    case .set(let set):
                        if let scalar {
                            advances = ignoreCase ? sets[set].containsIgnoringCase(scalar) : sets[set].contains(scalar)
                        } else {
                            advances = false
                        }
                    default: advances = false
                    }
                    if advances,
                       add(program, pc + 1, start: start, at: nextPosition, previous: scalar, next: following, count: count,
                           to: &scratch.next, stack: &scratch.stack),
                       !wantSpan {
                        return .match(start, nextPosition)
                    }
                }
                guard position < count else { break }
                swap(&scratch.current, &scratch.next)
                previous = scalar
                position = nextPosition
                scalar = following
                length = followingLength
                work += scratch.current.count + 1
                if work >= 1 << 16 {
                    work = 0
                    if deadline != .max && coarseNow() > deadline { return .deadline }
                }
            }
            if let matched { return .match(matched.0, matched.1) }
            return .noMatch
        }

        static func coarseNow() -> UInt64 {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
            return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
        }

        /// Follows jumps, splits and assertions from `first` in priority order and appends the
        /// states reached that consume a character (or match) to `list`, each remembering `start`.
        /// Returns true as soon as the match state is reached (a yes/no search stops there).
        private static func add(_ program: UnsafeBufferPointer<Instruction>, _ first: Int, start: Int, at position: Int,
                                previous: Unicode.Scalar?, next: Unicode.Scalar?, count: Int,
                                to list: inout ThreadList, stack: inout Stack) -> Bool {
            stack.count = 0
            stack.push(first)
            while let pc = stack.pop() {
                guard list.insert(pc) else { continue }
                switch program[pc] {
                case .match:
                    list.append(pc, start: start)
                    return true
                case .jump(let target): stack.push(target)
                case .split(let preferred, let other):
                    stack.push(other)
                    stack.push(preferred)
                case .assertStart: if position == 0 { stack.push(pc + 1) }
                case .assertEnd: if position == count { stack.push(pc + 1) }
                case .assertLineStart:
                    if previous.map(LinearRegex.isLineTerminator) ?? true { stack.push(pc + 1) }
                case .assertLineEnd:
                    if next.map(LinearRegex.isLineTerminator) ?? true { stack.push(pc + 1) }
                case .assertWordBoundary(let wanted):
                    let before = previous.map(LinearRegex.isWord) ?? false
                    let after = next.map(LinearRegex.isWord) ?? false
                    if (before != after) == wanted { stack.push(pc + 1) }
                case .scalar, .scalarFolded, .any, .anyButLineTerminator, .set:
                    list.append(pc, start: start)
                }
            }
            return false
        }
    }

    /// Decoding of UTF-8 where it is read: an invalid byte is one U+FFFD.
    enum UTF8Reader {
        /// The scalar at `offset` and its length in bytes; nil (length 0) at the end.
        @inline(__always)
        static func scalar(at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (Unicode.Scalar?, Int) {
            guard offset < bytes.count else { return (nil, 0) }
            let lead = bytes[offset]
            if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
            return decodeMultibyte(at: offset, in: bytes)
        }

        static func decodeMultibyte(at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (Unicode.Scalar?, Int) {
            let lead = bytes[offset]
            let replacement: (Unicode.Scalar?, Int) = ("\u{FFFD}", 1)
            let length: Int
            var value: UInt32
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
            case 0xE0: length = 3; value = UInt32(lead & 0x0F); low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3; value = UInt32(lead & 0x0F)
            case 0xED: length = 3; value = UInt32(lead & 0x0F); high = 0x9F
            case 0xF0: length = 4; value = UInt32(lead & 0x07); low = 0x90
            case 0xF1...0xF3: length = 4; value = UInt32(lead & 0x07)
            case 0xF4: length = 4; value = UInt32(lead & 0x07); high = 0x8F
            default: return replacement
            }
            guard offset + length <= bytes.count else { return replacement }
            for index in 1..<length {
                let byte = bytes[offset + index]
                let (min, max): (UInt8, UInt8) = index == 1 ? (low, high) : (0x80, 0xBF)
                guard byte >= min && byte <= max else { return replacement }
                value = value << 6 | UInt32(byte & 0x3F)
            }
            guard let scalar = Unicode.Scalar(value) else { return replacement }
            return (scalar, length)
        }

        /// The scalar that ends just before `offset` (offset > 0), as a forward reading from the
        /// start would have seen it.
        static func scalar(before offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar {
            var start = offset - 1
            while start > 0 && offset - start < 4 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
            let (scalar, length) = scalar(at: start, in: bytes)
            if let scalar, start + length == offset { return scalar }
            return "\u{FFFD}"
        }
    }
}

// MARK: - Program

extension LinearRegex {
    enum Instruction: Sendable {
        case scalar(Unicode.Scalar)
        /// Under `i`: a character whose canonical form (``LinearRegex/canonicalize(_:)``) is this.
        case scalarFolded(Unicode.Scalar)
        /// `.` under `s`.
        case any
        case anyButLineTerminator
        case set(Int)
        /// Both continue; the first has priority.
        case split(Int, Int)
        case jump(Int)
        case assertStart
        case assertEnd
        /// `^` and `$` under `m`.
        case assertLineStart
        case assertLineEnd
        case assertWordBoundary(Bool)
        case match
    }

    enum ClassEscape: Sendable {
        case digit, word, space

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            switch self {
            case .digit: LinearRegex.isDigit(scalar)
            case .word: LinearRegex.isWord(scalar)
            case .space: LinearRegex.isSpace(scalar)
            }
        }
    }

    /// A bracket class, or a class escape used on its own (`\d` is a set of one escape).
    struct ScalarSet: Sendable {
        var ranges: [ClosedRange<UInt32>] = []
        var escapes: [(escape: ClassEscape, negated: Bool)] = []
        var negated = false

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            hasMember(scalar) != negated
        }

        /// Whether `scalar` is listed (before negation).
        private func hasMember(_ scalar: Unicode.Scalar) -> Bool {
            for range in ranges where range.contains(scalar.value) { return true }
            for item in escapes where item.escape.contains(scalar) != item.negated { return true }
            return false
        }

        /// Under `i`: whether a member canonicalizes like `scalar` (JavaScript's rule, where `[a-z]`
        /// matches `K` but not the Kelvin sign).
        func containsIgnoringCase(_ scalar: Unicode.Scalar) -> Bool {
            if hasMember(scalar) { return !negated }
            let canonical = LinearRegex.canonicalize(scalar)
            if canonical != scalar && hasMember(canonical) { return !negated }
            // The lower cases: `[a-z]` holds `k`, the lower case of `K`'s canonical form.
            let lower = LinearRegex.lowercase(canonical)
            if lower != scalar && lower != canonical && LinearRegex.canonicalize(lower) == canonical && hasMember(lower) {
                return !negated
            }
            let ownLower = LinearRegex.lowercase(scalar)
            if ownLower != scalar && ownLower != lower && LinearRegex.canonicalize(ownLower) == canonical
                && hasMember(ownLower) {
                return !negated
            }
            return negated
        }
    }

    /// States on a list for one step: a sparse set for de-duplication in O(1), and the consuming
    /// (and match) states in insertion order, which is the priority order, each with the offset
    /// where its match started.
    struct ThreadList {
        /// Four arrays of `capacity` in one allocation, owned by the ``Matcher`` that made the list
        /// (plain memory: no copy-on-write checks in the loop).
        let sparse: UnsafeMutablePointer<Int>
        let seen: UnsafeMutablePointer<Int>
        let dense: UnsafeMutablePointer<Int>
        let starts: UnsafeMutablePointer<Int>
        var seenCount = 0
        var count = 0

        init(capacity: Int) {
            let memory = UnsafeMutablePointer<Int>.allocate(capacity: 4 * max(1, capacity))
            memory.initialize(repeating: 0, count: 4 * max(1, capacity))
            sparse = memory
            seen = memory + capacity
            dense = memory + 2 * capacity
            starts = memory + 3 * capacity
        }

        func deallocate() { sparse.deallocate() }

        /// Adds `pc` to the visited states; false when it was already there this step.
        mutating func insert(_ pc: Int) -> Bool {
            let slot = sparse[pc]
            if slot < seenCount && seen[slot] == pc { return false }
            sparse[pc] = seenCount
            seen[seenCount] = pc
            seenCount += 1
            return true
        }

        mutating func append(_ pc: Int, start: Int) {
            dense[count] = pc
            starts[count] = start
            count += 1
        }

        mutating func clear() {
            seenCount = 0
            count = 0
        }
    }

    /// The closure's work stack: each state newly reached pushes at most two, so 2 × program + 1
    /// entries always suffice.
    struct Stack {
        let items: UnsafeMutablePointer<Int>
        var count = 0

        init(capacity: Int) {
            items = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
        }

        func deallocate() { items.deallocate() }

        @inline(__always) mutating func push(_ value: Int) {
            items[count] = value
            count += 1
        }

        @inline(__always) mutating func pop() -> Int? {
            guard count > 0 else { return nil }
            count -= 1
            return items[count]
        }
    }
}

// MARK: - Parsing

extension LinearRegex {
    indirect enum Node {
        case empty
        case scalar(Unicode.Scalar)
        case any
        case set(Int)
        case start, end
        case wordBoundary(Bool)
        case concatenation([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?, greedy: Bool)
    }

    struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var sets: [ScalarSet] = []
        var depth = 0

        init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

        private var atEnd: Bool { index >= scalars.count }
        private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }

        private func error(_ message: String) -> SyntaxError {
            SyntaxError(message: "\(message) at position \(index)")
        }

        mutating func parseWhole() throws(SyntaxError) -> Node {
            let node = try parseAlternation()
            if !atEnd {  // only an unmatched ')' stops the top level early
                throw error("unmatched ')'")
            }
            return node
        }

        private mutating func parseAlternation() throws(SyntaxError) -> Node {
            var branches = [try parseConcatenation()]
            while peek() == "|" {
                index += 1
                branches.append(try parseConcatenation())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        private mutating func parseConcatenation() throws(SyntaxError) -> Node {
            var items: [Node] = []
            while let scalar = peek(), scalar != "|", scalar != ")" {
                let atom = try parseAtom()
                items.append(try parseQuantifiers(on: atom))
            }
            switch items.count {
            case 0: return .empty
            case 1: return items[0]
            default: return .concatenation(items)
            }
        }

        private mutating func parseQuantifiers(on atom: Node) throws(SyntaxError) -> Node {
            var node = atom
            while let scalar = peek() {
                var bounds: (Int, Int?)
                switch scalar {
                case "*": bounds = (0, nil); index += 1
                case "+": bounds = (1, nil); index += 1
                case "?": bounds = (0, 1); index += 1
                case "{":
                    guard let parsed = try parseBraces() else { return node }
                    bounds = parsed
                default:
                    return node
                }
                switch node {
                case .start, .end, .wordBoundary:
                    throw error("a quantifier after an anchor")
                case .repeated:
                    throw error("a quantifier after a quantifier (write a group)")
                default: break
                }
                var greedy = true
                if peek() == "?" {
                    index += 1
                    greedy = false
                }
                if peek() == "+" { throw error("possessive quantifiers are not supported") }
                node = .repeated(node, min: bounds.0, max: bounds.1, greedy: greedy)
                if case .repeated = node, let next = peek(), "*+?".unicodeScalars.contains(next) {
                    throw error("a quantifier after a quantifier (write a group)")
                }
            }
            return node
        }

        /// `{m}`, `{m,}`, `{m,n}`; nil (and nothing consumed) when the brace is a literal, as in
        /// JavaScript without the `u` flag.
        private mutating func parseBraces() throws(SyntaxError) -> (Int, Int?)? {
            var cursor = index + 1
            let scalars = self.scalars
            /// Digits at the cursor (capped so they cannot overflow); nil when there are none.
            func number() -> Int? {
                var value = 0
                var digits = 0
                while cursor < scalars.count, LinearRegex.isDigit(scalars[cursor]) {
                    value = min(value * 10 + Int(truncatingIfNeeded: scalars[cursor].value - 0x30), 1_000_000)
                    digits += 1
                    cursor += 1
                }
                return digits == 0 ? nil : value
            }
            guard let low = number() else { return nil }
            var high: Int? = low
            if cursor < scalars.count, scalars[cursor] == "," {
                cursor += 1
                high = number()
            }
            guard cursor < scalars.count, scalars[cursor] == "}" else { return nil }
            index = cursor + 1
            if let high, high < low { throw error("{\(low),\(high)}: the bounds are out of order") }
            if low > LinearRegex.maximumRepeat || (high ?? 0) > LinearRegex.maximumRepeat {
                throw error("a repetition bound above \(LinearRegex.maximumRepeat)")
            }
            return (low, high)
        }

        private mutating func parseAtom() throws(SyntaxError) -> Node {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "^": return .start
            case "$": return .end
            case ".": return .any
            case "*", "+", "?":
                index -= 1
                throw error("nothing to repeat before '\(scalar)'")
            case "{":
                index -= 1
                if try parseBraces() != nil { throw error("nothing to repeat before '{'") }
                index += 1
                return .scalar("{")
            case "(":
                return try parseGroup()
            case "[":
                return try parseClass()
            case "\\":
                return try parseEscape()
            default:
                return .scalar(scalar)
            }
        }

        private mutating func parseGroup() throws(SyntaxError) -> Node {
            if peek() == "?" {
                switch peek(1) {
                case ":": index += 2
                case "=", "!": throw error("lookahead is not supported")
                case "<":
                    if peek(2) == "=" || peek(2) == "!" { throw error("lookbehind is not supported") }
                    throw error("named groups are not supported (use (?: ) or ( ))")
                default: throw error("inline flags and other (? ) groups are not supported")
                }
            }
            depth += 1
            guard depth <= 100 else { throw error("groups nested deeper than 100") }
            let inner = try parseAlternation()
            depth -= 1
            guard peek() == ")" else { throw error("unclosed '('") }
            index += 1
            return .concatenation([inner])  // wrapped: `(a*)*` repeats a group, not a quantifier
        }

        private mutating func parseEscape() throws(SyntaxError) -> Node {
            guard let scalar = peek() else { throw error("a trailing backslash") }
            switch scalar {
            case "d", "w", "s", "D", "W", "S":
                index += 1
                var set = ScalarSet()
                set.escapes = [(Self.classEscape(scalar), scalar.properties.isUppercase)]
                sets.append(set)
                return .set(sets.count - 1)
            case "b": index += 1; return .wordBoundary(true)
            case "B": index += 1; return .wordBoundary(false)
            default:
                return .scalar(try parseCharacterEscape(inClass: false))
            }
        }

        private static func classEscape(_ scalar: Unicode.Scalar) -> ClassEscape {
            switch scalar {
            case "d", "D": .digit
            case "w", "W": .word
            default: .space
            }
        }

        /// An escape that stands for one character (the backslash already consumed).
        private mutating func parseCharacterEscape(inClass: Bool) throws(SyntaxError) -> Unicode.Scalar {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "t": return "\t"
            case "n": return "\n"
            case "r": return "\r"
            case "v": return "\u{0B}"
            case "f": return "\u{0C}"
            case "b" where inClass: return "\u{08}"
            case "0":
                if let next = peek(), LinearRegex.isDigit(next) { throw error("octal escapes are not supported") }
                return "\0"
            case "1"..."9":
                throw error("backreferences are not supported")
            case "x": return try hexEscape(digits: 2)
            case "u":
                if peek() == "{" { throw error("\\u{...} escapes are not supported (use \\uHHHH)") }
                return try hexEscape(digits: 4)
            case "k": throw error("named backreferences are not supported")
            case "p", "P": throw error("Unicode property escapes are not supported")
            case "c": throw error("control escapes (\\c) are not supported")
            default:
                if LinearRegex.isWord(scalar) { throw error("unknown escape '\\\(scalar)'") }
                return scalar  // escaped punctuation (and anything else non-alphanumeric) is itself
            }
        }

        private mutating func hexEscape(digits: Int) throws(SyntaxError) -> Unicode.Scalar {
            var value: UInt32 = 0
            for _ in 0..<digits {
                guard let scalar = peek(), let digit = Self.hexValue(scalar) else {
                    throw error("expected \(digits) hex digits")
                }
                value = value << 4 | digit
                index += 1
            }
            guard let result = Unicode.Scalar(value) else { throw error("a surrogate code unit escape") }
            return result
        }

        private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
            switch scalar.value {
            case 0x30...0x39: scalar.value - 0x30
            case 0x41...0x46: scalar.value - 0x41 + 10
            case 0x61...0x66: scalar.value - 0x61 + 10
            default: nil
            }
        }

        private mutating func parseClass() throws(SyntaxError) -> Node {
            var set = ScalarSet()
            if peek() == "^" {
                set.negated = true
                index += 1
            }
            while true {
                guard let scalar = peek() else { throw error("unclosed '['") }
                if scalar == "]" {
                    index += 1
                    break
                }
                let low = try classAtom(into: &set)
                if peek() == "-", let after = peek(1), after != "]" {
                    guard let low else { throw error("a range starting at a class escape") }
                    index += 1
                    guard let high = try classAtom(into: &set) else { throw error("a range ending at a class escape") }
                    guard low.value <= high.value else { throw error("a class range out of order") }
                    set.ranges.append(low.value...high.value)
                } else if let low {
                    set.ranges.append(low.value...low.value)
                }
            }
            sets.append(set)
            return .set(sets.count - 1)
        }

        /// One class member: a character (returned) or a class escape (added to `set`, nil returned).
        private mutating func classAtom(into set: inout ScalarSet) throws(SyntaxError) -> Unicode.Scalar? {
            let scalar = scalars[index]
            index += 1
            guard scalar == "\\" else { return scalar }
            guard let escaped = peek() else { throw error("a trailing backslash") }
            switch escaped {
            case "d", "w", "s", "D", "W", "S":
                index += 1
                set.escapes.append((Self.classEscape(escaped), escaped.properties.isUppercase))
                return nil
            case "B": throw error("\\B inside a class")
            case "-": index += 1; return "-"
            default: return try parseCharacterEscape(inClass: true)
            }
        }
    }
}

// MARK: - Compiling

extension LinearRegex {
    struct Compiler {
        var program: [Instruction] = []
        var sets: [ScalarSet]
        let flags: Flags

        init(sets: [ScalarSet], flags: Flags) {
            self.sets = sets
            self.flags = flags
        }

        mutating func append(_ instruction: Instruction) {
            program.append(instruction)
        }

        private mutating func reserve() throws(SyntaxError) -> Int {
            guard program.count < LinearRegex.maximumProgramSize else {
                throw SyntaxError(message: "the pattern is too large once its repetitions are expanded "
                                  + "(more than \(LinearRegex.maximumProgramSize) steps)")
            }
            program.append(.match)  // placeholder
            return program.count - 1
        }

        private mutating func put(_ instruction: Instruction) throws(SyntaxError) {
            let at = try reserve()
            program[at] = instruction
        }

        mutating func emit(_ node: Node) throws(SyntaxError) {
            switch node {
            case .empty: break
            case .scalar(let scalar):
                try put(flags.contains(.ignoreCase) ? .scalarFolded(LinearRegex.canonicalize(scalar)) : .scalar(scalar))
            case .any: try put(flags.contains(.dotAll) ? .any : .anyButLineTerminator)
            case .set(let index): try put(.set(index))
            case .start: try put(flags.contains(.multiline) ? .assertLineStart : .assertStart)
            case .end: try put(flags.contains(.multiline) ? .assertLineEnd : .assertEnd)
            case .wordBoundary(let wanted): try put(.assertWordBoundary(wanted))
            case .concatenation(let items):
                for item in items { try emit(item) }
            case .alternation(let branches):
                // split L1, next; L1: a; jump end; next: split L2, … ; last branch falls through.
                var jumps: [Int] = []
                for (position, branch) in branches.enumerated() {
                    if position < branches.count - 1 {
                        let split = try reserve()
                        try emit(branch)
                        jumps.append(try reserve())
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try emit(branch)
                    }
                }
                for jump in jumps { program[jump] = .jump(program.count) }
            case .repeated(let inner, let min, let max, let greedy):
                for _ in 0..<min { try emit(inner) }
                if let max {
                    // (inner (inner (…)?)?)? — each optional copy skips to the end when not taken.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(try reserve())
                        try emit(inner)
                    }
                    for split in splits {
                        program[split] = greedy ? .split(split + 1, program.count) : .split(program.count, split + 1)
                    }
                } else {
                    // loop: split body, end; body: inner; jump loop
                    let loop = try reserve()
                    try emit(inner)
                    let back = try reserve()
                    program[back] = .jump(loop)
                    program[loop] = greedy ? .split(loop + 1, program.count) : .split(program.count, loop + 1)
                }
            }
        }
    }
}
