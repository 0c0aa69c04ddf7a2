/// The assistant's answer, already cut into the pieces a stream sends.
///
/// Why: every dialect streams the same reply, and usage numbers must agree between the
/// streaming and non-streaming forms, so the split and the token count live in one place.
/// One piece counts as one completion token.
struct ReplyText: Sendable {
    static let defaultText = "This is a test."
    static let standard = ReplyText(pieces: ["This", " is", " a", " test."])

    /// Stream pieces; joined they are the full reply.
    let pieces: [String]

    var text: String { pieces.joined() }
    var tokenCount: Int { pieces.count }

    private init(pieces: [String]) {
        self.pieces = pieces
    }

    /// The reply a request asks for via the `content` and `chunks` controls.
    init(controls: MockControls) {
        switch (controls.content, controls.chunks) {
        case (nil, nil):
            self = .standard
        case (nil, let count?):
            // "This is a test." repeated word by word until there are `count` words.
            let words = Self.standard.pieces.map { $0.trimmingWhitespace() }
            self.pieces = (0..<count).map { index in
                (index == 0 ? "" : " ") + words[index % words.count]
            }
        case (let content?, nil):
            self.pieces = Self.words(of: content)
        case (let content?, let count?):
            self.pieces = Self.split(content, into: count)
        }
    }

    /// Splits text into words, each keeping the whitespace before it ("Hi there" -> "Hi", " there").
    static func words(of text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var sawWord = false
        for character in text {
            if character.isWhitespace, sawWord {
                pieces.append(current)
                current = ""
                sawWord = false
            }
            if !character.isWhitespace { sawWord = true }
            current.append(character)
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// Splits text into exactly `count` non-empty pieces when it is long enough.
    static func split(_ text: String, into count: Int) -> [String] {
        let characters = Array(text)
        guard characters.count > count else { return characters.map { String($0) } }
        return (0..<count).map { index in
            let start = characters.count * index / count
            let end = characters.count * (index + 1) / count
            return String(characters[start..<end])
        }
    }
}

/// Rough token counting: about four bytes of request JSON per token, at least one.
///
/// Why: the mock has no tokenizer; it only needs numbers that are deterministic and grow
/// with the prompt so usage accounting in the gateway can be tested.
enum TokenEstimate {
    static func tokens(forBytes count: Int) -> Int {
        max(1, (count + 3) / 4)
    }
}
