import NIOCore
import RedisClient
import Testing

/// The parser against hand-written RESP2 streams, whole and cut at every byte.
@Suite struct RESPParserTests {
    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    /// One stream holding every RESP2 type, and the replies it holds.
    static let stream = """
        +OK\r\n-ERR unknown command 'FOO'\r\n:0\r\n:-42\r\n:9223372036854775807\r\n:-9223372036854775808\r\n\
        $5\r\nhello\r\n$0\r\n\r\n$-1\r\n$6\r\na\r\nb\u{0}c\r\n*0\r\n*-1\r\n\
        *3\r\n:1\r\n$3\r\nfoo\r\n*2\r\n+x\r\n*1\r\n$-1\r\n\
        *2\r\n-NOSCRIPT No matching script\r\n+\r\n
        """
    static let expected: [RESPValue] = [
        .simpleString("OK"), .error("ERR unknown command 'FOO'"), .integer(0), .integer(-42),
        .integer(Int.max), .integer(Int.min),
        bulk("hello"), bulk(""), .null, bulk("a\r\nb\u{0}c"), .array([]), .null,
        .array([.integer(1), bulk("foo"), .array([.simpleString("x"), .array([.null])])]),
        .array([.error("NOSCRIPT No matching script"), .simpleString("")]),
    ]

    /// Feeds `chunks` one after another, taking every complete reply after each.
    static func feed(_ chunks: [ByteBuffer], parser: inout RESPParser) throws -> (values: [RESPValue], left: Int) {
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in chunks {
            buffer.writeImmutableBuffer(chunk)
            while let value = try parser.parse(&buffer) { values.append(value) }
        }
        return (values, buffer.readableBytes)
    }

    @Test func wholeStream() throws {
        var parser = RESPParser()
        let (values, left) = try Self.feed([Self.bytes(Self.stream)], parser: &parser)
        #expect(values == Self.expected)
        #expect(left == 0)
    }

    @Test func cutAtEveryPosition() throws {
        let whole = Self.bytes(Self.stream)
        for cut in 0...whole.readableBytes {
            var parser = RESPParser()
            let first = whole.getSlice(at: 0, length: cut)!
            let second = whole.getSlice(at: cut, length: whole.readableBytes - cut)!
            let (values, left) = try Self.feed([first, second], parser: &parser)
            #expect(values == Self.expected, "cut at \(cut)")
            #expect(left == 0, "cut at \(cut)")
        }
    }

    @Test func cutAtEveryPairOfPositionsAndByteByByte() throws {
        let whole = Self.bytes(Self.stream)
        let count = whole.readableBytes
        for a in stride(from: 0, through: count, by: 3) {
            for b in a...count {
                var parser = RESPParser()
                let chunks = [whole.getSlice(at: 0, length: a)!, whole.getSlice(at: a, length: b - a)!,
                              whole.getSlice(at: b, length: count - b)!]
                let (values, left) = try Self.feed(chunks, parser: &parser)
                #expect(values == Self.expected, "cuts at \(a), \(b)")
                #expect(left == 0)
            }
        }
        var parser = RESPParser()
        let single = (0..<count).map { whole.getSlice(at: $0, length: 1)! }
        #expect(try Self.feed(single, parser: &parser).values == Self.expected)
    }

    @Test func incompleteReplyConsumesNothing() throws {
        var parser = RESPParser()
        var buffer = Self.bytes("*2\r\n$3\r\nfoo\r\n$3\r\nba")
        #expect(try parser.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 19)
        buffer.writeString("r\r\n")
        #expect(try parser.parse(&buffer) == .array([Self.bulk("foo"), Self.bulk("bar")]))
        #expect(buffer.readableBytes == 0)
    }

    static let malformed: [(String, String)] = [
        ("unknown type byte", "!oops\r\n"),
        ("CR without LF", "+OK\rX\n"),
        ("LF without CR", "+OK\n"),
        ("integer with letters", ":12a\r\n"),
        ("empty integer", ":\r\n"),
        ("integer overflow", ":9223372036854775808\r\n"),
        ("bulk length not a number", "$x\r\n"),
        ("bulk length below -1", "$-2\r\n"),
        ("bulk without CRLF after body", "$3\r\nfooXY"),
        ("array length below -1", "*-5\r\n"),
        ("array length with plus sign", "*+1\r\n"),
        ("bad element inside an array", "*2\r\n:1\r\n?\r\n"),
        ("RESP3 map", "%1\r\n+a\r\n+b\r\n"),
    ]

    @Test(arguments: malformed)
    func malformedInputIsRefused(_ name: String, _ text: String) {
        var parser = RESPParser()
        var buffer = Self.bytes(text)
        #expect(throws: RESPParseError.self, "\(name)") { _ = try parser.parse(&buffer) }
        // Cut anywhere, the refusal still comes, and no value is made up before it.
        let whole = Self.bytes(text)
        for cut in 0...whole.readableBytes {
            var parser = RESPParser()
            #expect(throws: RESPParseError.self, "\(name), cut at \(cut)") {
                let (values, _) = try Self.feed([whole.getSlice(at: 0, length: cut)!,
                                                 whole.getSlice(at: cut, length: whole.readableBytes - cut)!], parser: &parser)
                #expect(values.isEmpty)
            }
        }
    }

    @Test func limitsAreCheckedBeforeTheBodyArrives() throws {
        var parser = RESPParser(maxReplyBytes: 1000, maxDepth: 4, maxLineBytes: 100)
        var bulk = Self.bytes("$1001\r\n")
        #expect(throws: RESPParseError.self) { _ = try parser.parse(&bulk) }
        var array = Self.bytes("*400\r\n")
        #expect(throws: RESPParseError.self) { _ = try parser.parse(&array) }
        // Several bulk strings each under the limit, together over it: refused once declared.
        var parser2 = RESPParser(maxReplyBytes: 1000)
        var many = Self.bytes("*3\r\n$600\r\n" + String(repeating: "a", count: 600) + "\r\n$600\r\n")
        #expect(throws: RESPParseError.self) { _ = try parser2.parse(&many) }
        var deep = Self.bytes(String(repeating: "*1\r\n", count: 5) + ":1\r\n")
        #expect(throws: RESPParseError.self) { _ = try parser.parse(&deep) }
        var fourDeep = Self.bytes(String(repeating: "*1\r\n", count: 4) + ":1\r\n")
        #expect(try parser.parse(&fourDeep) == .array([.array([.array([.array([.integer(1)])])])]))
        // A line that never ends is refused once longer than the limit, not buffered on.
        var parser3 = RESPParser(maxLineBytes: 100)
        var long = Self.bytes("+" + String(repeating: "a", count: 99))
        #expect(try parser3.parse(&long) == nil)
        long.writeString(String(repeating: "a", count: 10))
        #expect(throws: RESPParseError.self) { _ = try parser3.parse(&long) }
    }

    /// Random bytes and mutated valid streams: the parser answers, waits or refuses; it never crashes.
    @Test func fuzzNeverCrashes() {
        var random = SplitMix64(seed: 17)
        let alphabet = Array("+-:$*\r\n0123456789-abc".utf8)
        let valid = Array(Self.stream.utf8)
        var outcomes = (values: 0, refusals: 0)
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 40)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            } else {
                bytes = valid
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    bytes[Int(random.next() % UInt64(bytes.count))] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                }
            }
            var parser = RESPParser(maxReplyBytes: 4096, maxDepth: 8, maxLineBytes: 64)
            var buffer = ByteBuffer(bytes: bytes)
            do {
                while let _ = try parser.parse(&buffer) { outcomes.values += 1 }
            } catch {
                outcomes.refusals += 1
            }
        }
        // Both paths were exercised (a parser that refused or accepted everything would fail this).
        #expect(outcomes.values > 1000)
        #expect(outcomes.refusals > 1000)
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() throws {
        let buffer = RESPEncoder.encode(["SET", "k€y", .bytes(ByteBuffer(string: "a\r\nb")), 42, -7])
        #expect(String(buffer: buffer) == "*5\r\n$3\r\nSET\r\n$5\r\nk€y\r\n$4\r\na\r\nb\r\n$2\r\n42\r\n$2\r\n-7\r\n")
        var parser = RESPParser()
        var copy = buffer
        #expect(try parser.parse(&copy) == .array([Self.bulk("SET"), Self.bulk("k€y"), Self.bulk("a\r\nb"), Self.bulk("42"), Self.bulk("-7")]))
    }
}

/// A small seeded generator, so a fuzz failure can be replayed.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
