/// A regular expression matcher for conditional routing's `$regex` that runs in time linear in
/// the input (times the pattern's size), whatever the pattern.
///
/// Swift's `Regex` backtracks: `^(a+)+$` against 22 characters of client metadata held an event
/// loop for minutes, `/health` included. This is a Thompson NFA simulated Pike-VM style (every
/// thread advances one character at a time; a state is on the list at most once per step), so
/// the worst case is input length × program size, and the program size is capped.
///
/// It supports the JavaScript subset routing configs use, with `RegExp.test` semantics (a search,
/// unanchored unless `^`/`$` say otherwise, no flags): literals and escapes (`\t \n \r \v \f \0
/// \xHH \uHHHH` and escaped punctuation), `.`, classes `[...]` with ranges and negation, `\d \w \s
/// \D \W \S`, `\b \B`, anchors `^ $`, groups `( )` and `(?: )`, alternation, `* + ?` and `{m}`
/// `{m,}` `{m,n}`, greedy or lazy (the same answer for a yes/no match). Anything else —
/// backreferences, lookaround, named groups, inline flags, an oversized pattern — is refused with
/// a reason when the config is parsed, never silently misread.
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

    private let program: [Instruction]
    private let sets: [ScalarSet]
    /// The source, for messages and tests.
    public let pattern: String

    public init(_ pattern: String) throws(SyntaxError) {
        let scalars = Array(pattern.unicodeScalars)
        guard scalars.count <= Self.maximumPatternLength else {
            throw SyntaxError(message: "the pattern is longer than \(Self.maximumPatternLength) characters")
        }
        var parser = Parser(scalars: scalars)
        let tree = try parser.parseWhole()
        var compiler = Compiler(sets: parser.sets)
        try compiler.emit(tree)
        compiler.append(.match)
        self.program = compiler.program
        self.sets = compiler.sets
        self.pattern = pattern
    }

    /// Whether the pattern matches anywhere in `text` (JavaScript's `RegExp.prototype.test`).
    public func matches(_ text: String) -> Bool {
        let input = Array(text.unicodeScalars)
        var current = ThreadList(capacity: program.count)
        var next = ThreadList(capacity: program.count)
        var stack: [Int] = []
        stack.reserveCapacity(16)
        var position = 0
        while true {
            // A new thread starts at every position: the search is unanchored.
            if add(0, at: position, input: input, to: &current, stack: &stack) { return true }
            guard position < input.count else { return false }
            let scalar = input[position]
            next.clear()
            for index in 0..<current.count {
                let pc = current.dense[index]
                let advances: Bool
                switch program[pc] {
                case .scalar(let expected): advances = scalar == expected
                case .anyButLineTerminator: advances = !Self.isLineTerminator(scalar)
                case .set(let set): advances = sets[set].contains(scalar)
                default: advances = false
                }
                if advances, add(pc + 1, at: position + 1, input: input, to: &next, stack: &stack) { return true }
            }
            swap(&current, &next)
            position += 1
            if current.count == 0 && program.first.map(Self.isStartAnchor) == true { return false }
        }
    }

    /// Follows jumps, splits and assertions from `pc` and adds the consuming states reached;
    /// returns true as soon as the match state is reached.
    private func add(_ start: Int, at position: Int, input: [Unicode.Scalar], to list: inout ThreadList,
                     stack: inout [Int]) -> Bool {
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            switch program[pc] {
            case .match: return true
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assertStart: if position == 0 { stack.append(pc + 1) }
            case .assertEnd: if position == input.count { stack.append(pc + 1) }
            case .assertWordBoundary(let wanted):
                let before = position > 0 && Self.isWord(input[position - 1])
                let after = position < input.count && Self.isWord(input[position])
                if (before != after) == wanted { stack.append(pc + 1) }
            case .scalar, .anyButLineTerminator, .set:
                list.markConsuming(pc)
            }
        }
        return false
    }

    private static func isStartAnchor(_ instruction: Instruction) -> Bool {
        if case .assertStart = instruction { return true }
        return false
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
}

// MARK: - Program

extension LinearRegex {
    enum Instruction: Sendable {
        case scalar(Unicode.Scalar)
        case anyButLineTerminator
        case set(Int)
        case split(Int, Int)
        case jump(Int)
        case assertStart
        case assertEnd
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
            var found = false
            for range in ranges where range.contains(scalar.value) {
                found = true
                break
            }
            if !found {
                for item in escapes where item.escape.contains(scalar) != item.negated {
                    found = true
                    break
                }
            }
            return found != negated
        }
    }

    /// States on a list for one step: a sparse set for de-duplication in O(1), and the consuming
    /// states in insertion order (which is the priority order; it does not matter for yes/no).
    struct ThreadList {
        var sparse: [Int]
        var seen: [Int]
        var seenCount = 0
        var dense: [Int]
        var count = 0

        init(capacity: Int) {
            sparse = Array(repeating: 0, count: capacity)
            seen = Array(repeating: 0, count: capacity)
            dense = Array(repeating: 0, count: capacity)
        }

        /// Adds `pc` to the visited states; false when it was already there this step.
        mutating func insert(_ pc: Int) -> Bool {
            let slot = sparse[pc]
            if slot < seenCount && seen[slot] == pc { return false }
            sparse[pc] = seenCount
            seen[seenCount] = pc
            seenCount += 1
            return true
        }

        mutating func markConsuming(_ pc: Int) {
            dense[count] = pc
            count += 1
        }

        mutating func clear() {
            seenCount = 0
            count = 0
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
        case repeated(Node, min: Int, max: Int?)
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
                if peek() == "?" { index += 1 }  // lazy: the same yes/no answer
                if peek() == "+" { throw error("possessive quantifiers are not supported") }
                node = .repeated(node, min: bounds.0, max: bounds.1)
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

        init(sets: [ScalarSet]) { self.sets = sets }

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
            case .scalar(let scalar): try put(.scalar(scalar))
            case .any: try put(.anyButLineTerminator)
            case .set(let index): try put(.set(index))
            case .start: try put(.assertStart)
            case .end: try put(.assertEnd)
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
            case .repeated(let inner, let min, let max):
                for _ in 0..<min { try emit(inner) }
                if let max {
                    // (inner (inner (…)?)?)? — each optional copy skips to the end when not taken.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(try reserve())
                        try emit(inner)
                    }
                    for split in splits { program[split] = .split(split + 1, program.count) }
                } else {
                    // loop: split body, end; body: inner; jump loop
                    let loop = try reserve()
                    try emit(inner)
                    let back = try reserve()
                    program[back] = .jump(loop)
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}
