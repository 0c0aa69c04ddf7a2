internal import CYAML

/// Reads a settings file written in YAML (or JSON, which YAML contains) into a ``YAMLNode`` tree.
///
/// Hand-written on Debian's libyaml (C, the event API) because every YAML library for Swift in
/// reach (Yams, and swift-configuration's `YAML` trait built on it) links full Foundation, which
/// costs ~7 MB of idle RSS (libFoundation, libFoundationInternationalization and ICU's data) in a
/// gateway that otherwise needs only FoundationEssentials. libyaml does the scanning and parsing;
/// this file turns its events into a tree and resolves scalars by the YAML 1.2 core schema:
///
/// - plain `null`, `Null`, `NULL`, `~` and the empty scalar are null;
/// - plain `true`/`True`/`TRUE`, `false`/`False`/`FALSE` are booleans (YAML 1.1's `yes`, `no`,
///   `on`, `off` are strings: ``YAMLNode/isPlain`` lets a reader that wants a boolean accept them);
/// - plain `123`, `-7`, `0x1F`, `0o17` are integers, `1.5`, `1e3`, `.inf`, `.nan` floats;
/// - anything quoted is a string, and so is every other plain scalar;
/// - the tags `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map` and `!` are
///   honoured; any other tag is refused.
///
/// Anchors and aliases are supported (with a cap on the nodes they expand to, so a few lines
/// cannot make millions of nodes), and so are merge keys (`<<: *defaults`). A second document in
/// the stream and duplicate keys are refused. Every error says line and column.
///
/// ```swift
/// let root = try YAMLReader.read("port: 8080\nallow_hosts: [a.example, b.example]\n")
/// root?["port"]?.value  // .int(8080)
/// ```
public enum YAMLReader {
    /// Most nodes a document may expand to (aliases included).
    public static let maxNodes = 100_000
    /// Deepest nesting of collections.
    public static let maxDepth = 200

    /// The document's root node, or nil for an empty stream (an empty file).
    public static func read(_ text: String) throws(YAMLError) -> YAMLNode? {
        try read(Array(text.utf8))
    }

    /// The document's root node, or nil for an empty stream (an empty file).
    public static func read(_ bytes: [UInt8]) throws(YAMLError) -> YAMLNode? {
        let events = EventSource(bytes)
        var builder = TreeBuilder(events: events)
        return try builder.stream()
    }
}

/// One libyaml event, copied out of libyaml's memory.
enum Event {
    case streamStart, streamEnd, documentEnd
    case documentStart(YAMLMark)
    case alias(anchor: String, YAMLMark)
    case scalar(Scalar)
    case sequenceStart(anchor: String?, tag: String?, YAMLMark)
    case mappingStart(anchor: String?, tag: String?, YAMLMark)
    case sequenceEnd, mappingEnd

    struct Scalar {
        var anchor: String?
        var tag: String?
        var text: String
        var plain: Bool
        var mark: YAMLMark
    }
}

/// Owns a libyaml parser and a copy of the input, and hands out events one at a time.
final class EventSource {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private var initialized: Bool

    init(_ bytes: [UInt8]) {
        parser = .allocate(capacity: 1)
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        initialized = yaml_parser_initialize(parser) == 1
        if initialized {
            yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
        }
    }

    deinit {
        if initialized { yaml_parser_delete(parser) }
        parser.deallocate()
        input.deallocate()
    }

    func next() throws(YAMLError) -> Event {
        guard initialized else { throw YAMLError("libyaml could not allocate a parser", at: nil) }
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw failure() }
        defer { yaml_event_delete(&event) }
        let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_START_EVENT: return .streamStart
        case YAML_STREAM_END_EVENT: return .streamEnd
        case YAML_DOCUMENT_START_EVENT: return .documentStart(mark)
        case YAML_DOCUMENT_END_EVENT: return .documentEnd
        case YAML_ALIAS_EVENT: return .alias(anchor: Self.string(event.data.alias.anchor) ?? "", mark)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
            return .scalar(Event.Scalar(anchor: Self.string(scalar.anchor), tag: Self.string(scalar.tag), text: text,
                                        plain: scalar.style == YAML_PLAIN_SCALAR_STYLE, mark: mark))
        case YAML_SEQUENCE_START_EVENT:
            return .sequenceStart(anchor: Self.string(event.data.sequence_start.anchor),
                                  tag: Self.string(event.data.sequence_start.tag), mark)
        case YAML_SEQUENCE_END_EVENT: return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            return .mappingStart(anchor: Self.string(event.data.mapping_start.anchor),
                                 tag: Self.string(event.data.mapping_start.tag), mark)
        case YAML_MAPPING_END_EVENT: return .mappingEnd
        default: throw YAMLError("unexpected libyaml event \(event.type.rawValue)", at: mark)
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// libyaml's own message: the problem, where it is, and what it was reading then.
    private func failure() -> YAMLError {
        let state = parser.pointee
        var message = state.problem.map { String(cString: $0) } ?? "invalid YAML"
        if state.error == YAML_READER_ERROR {
            // The reader reports a byte offset, not a line: the input is not UTF-8 or UTF-16.
            message += " at byte \(state.problem_offset)"
            return YAMLError(message, at: nil)
        }
        if let context = state.context {
            let at = YAMLMark(line: Int(state.context_mark.line) + 1, column: Int(state.context_mark.column) + 1)
            message += " (\(String(cString: context)) started at \(at))"
        }
        return YAMLError(message, at: YAMLMark(line: Int(state.problem_mark.line) + 1,
                                               column: Int(state.problem_mark.column) + 1))
    }
}

/// Builds the tree from the events: one document, anchors remembered, aliases copied in.
struct TreeBuilder {
    let events: EventSource
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    private var nodes = 0

    init(events: EventSource) {
        self.events = events
    }

    mutating func stream() throws(YAMLError) -> YAMLNode? {
        guard case .streamStart = try events.next() else { throw YAMLError("expected the start of a stream", at: nil) }
        switch try events.next() {
        case .streamEnd: return nil
        case .documentStart: break
        default: throw YAMLError("expected a document", at: nil)
        }
        let root = try node(try events.next(), depth: 0).node
        guard case .documentEnd = try events.next() else { throw YAMLError("expected the end of the document", at: root.mark) }
        switch try events.next() {
        case .streamEnd: return root
        case .documentStart(let mark):
            throw YAMLError("a second document starts here; a settings file holds one document", at: mark)
        default: throw YAMLError("expected the end of the stream", at: root.mark)
        }
    }

    /// Reads the node that `event` starts; returns it and how many nodes it counts for.
    private mutating func node(_ event: Event, depth: Int) throws(YAMLError) -> (node: YAMLNode, size: Int) {
        switch event {
        case .scalar(let scalar):
            let node = YAMLNode(try Self.resolve(scalar), mark: scalar.mark, text: scalar.text,
                                isPlain: scalar.plain && scalar.tag == nil)
            try count(1, at: scalar.mark)
            remember(scalar.anchor, node, size: 1)
            return (node, 1)
        case .alias(let anchor, let mark):
            guard let (node, size) = anchors[anchor] else { throw YAMLError("unknown alias *\(anchor)", at: mark) }
            try count(size, at: mark)
            return (node, size)
        case .sequenceStart(let anchor, let tag, let mark):
            guard tag == nil || tag == "!" || tag == "tag:yaml.org,2002:seq" else {
                throw YAMLError("unsupported tag \(tag ?? "") on a list", at: mark)
            }
            try enter(depth, at: mark)
            try count(1, at: mark)
            var items: [YAMLNode] = []
            var size = 1
            while true {
                let next = try events.next()
                if case .sequenceEnd = next { break }
                let (item, itemSize) = try node(next, depth: depth + 1)
                items.append(item)
                size += itemSize
            }
            let node = YAMLNode(.sequence(items), mark: mark)
            remember(anchor, node, size: size)
            return (node, size)
        case .mappingStart(let anchor, let tag, let mark):
            guard tag == nil || tag == "!" || tag == "tag:yaml.org,2002:map" else {
                throw YAMLError("unsupported tag \(tag ?? "") on a map", at: mark)
            }
            try enter(depth, at: mark)
            try count(1, at: mark)
            let (entries, size) = try mapping(depth: depth)
            let node = YAMLNode(.mapping(entries), mark: mark)
            remember(anchor, node, size: size)
            return (node, size)
        case .streamStart, .streamEnd, .documentStart, .documentEnd, .sequenceEnd, .mappingEnd:
            throw YAMLError("expected a value", at: nil)
        }
    }

    /// The entries of a mapping up to its end event, merge keys applied.
    private mutating func mapping(depth: Int) throws(YAMLError) -> ([YAMLEntry], Int) {
        var entries: [YAMLEntry] = []
        var seen: Set<String> = []
        var merged: [YAMLEntry] = []
        var size = 1
        while true {
            let keyEvent = try events.next()
            if case .mappingEnd = keyEvent { break }
            let (key, keySize) = try node(keyEvent, depth: depth + 1)
            guard let keyText = key.text else {
                throw YAMLError("a key must be a plain value, not \(key.kind)", at: key.mark)
            }
            let (value, valueSize) = try node(try events.next(), depth: depth + 1)
            size += keySize + valueSize
            if key.isPlain && keyText == "<<" {
                merged += try Self.mergeSources(value)
                continue
            }
            guard seen.insert(keyText).inserted else {
                throw YAMLError("duplicate key '\(keyText)'", at: key.mark)
            }
            entries.append(YAMLEntry(key: keyText, value: value, keyMark: key.mark))
        }
        // Keys written in the mapping win over merged ones; among merged maps, the first wins.
        for entry in merged where seen.insert(entry.key).inserted {
            entries.append(entry)
        }
        return (entries, size)
    }

    /// `<<: *a` or `<<: [*a, *b]`: the entries to merge, in order of precedence.
    private static func mergeSources(_ value: YAMLNode) throws(YAMLError) -> [YAMLEntry] {
        switch value.value {
        case .mapping(let entries): return entries
        case .sequence(let items):
            var all: [YAMLEntry] = []
            for item in items {
                guard case .mapping(let entries) = item.value else {
                    throw YAMLError("a merge key (<<) takes a map or a list of maps, not \(item.kind)", at: item.mark)
                }
                all += entries
            }
            return all
        default:
            throw YAMLError("a merge key (<<) takes a map or a list of maps, not \(value.kind)", at: value.mark)
        }
    }

    private mutating func remember(_ anchor: String?, _ node: YAMLNode, size: Int) {
        if let anchor { anchors[anchor] = (node, size) }
    }

    private mutating func count(_ added: Int, at mark: YAMLMark) throws(YAMLError) {
        nodes += added
        if nodes > YAMLReader.maxNodes {
            throw YAMLError("the document expands to more than \(YAMLReader.maxNodes) values (aliases included)", at: mark)
        }
    }

    private func enter(_ depth: Int, at mark: YAMLMark) throws(YAMLError) {
        if depth >= YAMLReader.maxDepth {
            throw YAMLError("nested deeper than \(YAMLReader.maxDepth) levels", at: mark)
        }
    }

    /// The YAML 1.2 core schema, for a scalar's tag (explicit or, when plain, resolved).
    static func resolve(_ scalar: Event.Scalar) throws(YAMLError) -> YAMLNode.Value {
        let text = scalar.text
        switch scalar.tag {
        case nil:
            return scalar.plain ? CoreSchema.resolve(text) : .string(text)
        case "!", "tag:yaml.org,2002:str":
            return .string(text)
        case "tag:yaml.org,2002:null":
            guard CoreSchema.isNull(text) else { throw YAMLError("'\(text)' is not null (!!null)", at: scalar.mark) }
            return .null
        case "tag:yaml.org,2002:bool":
            guard let value = CoreSchema.bool(text) else { throw YAMLError("'\(text)' is not a boolean (!!bool)", at: scalar.mark) }
            return .bool(value)
        case "tag:yaml.org,2002:int":
            guard let value = CoreSchema.int(text) else { throw YAMLError("'\(text)' is not an integer (!!int)", at: scalar.mark) }
            return .int(value)
        case "tag:yaml.org,2002:float":
            guard let value = CoreSchema.double(text) ?? CoreSchema.int(text).map(Double.init) else {
                throw YAMLError("'\(text)' is not a number (!!float)", at: scalar.mark)
            }
            return .double(value)
        case let tag?:
            throw YAMLError("unsupported tag \(tag)", at: scalar.mark)
        }
    }
}
