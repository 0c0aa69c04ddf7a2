/// A place in the source text, counted from 1 as editors show it.
public struct YAMLMark: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// One node of a YAML (or JSON) document, with its scalars resolved by the YAML 1.2 core schema.
///
/// `text` keeps a scalar's source text, so a reader that wants a string where the schema found a
/// number (`admin_token: 0123`) can have it exactly as written.
public struct YAMLNode: Sendable, Equatable {
    public indirect enum Value: Sendable, Equatable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case sequence([YAMLNode])
        /// Entries in the order written; keys are unique.
        case mapping([YAMLEntry])
    }

    public var value: Value
    /// Where the node starts.
    public var mark: YAMLMark
    /// A scalar's text as written (after unquoting and unescaping); nil for collections.
    public var text: String?
    /// True for a scalar written plain (unquoted, untagged): only those are resolved to null,
    /// booleans and numbers, and only those may be read as another type than the schema found.
    public var isPlain: Bool

    public init(_ value: Value, mark: YAMLMark, text: String? = nil, isPlain: Bool = false) {
        self.value = value
        self.mark = mark
        self.text = text
        self.isPlain = isPlain
    }

    /// The value under `key` when this node is a mapping.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let entries) = value else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// The kind of node, for messages ("a map", "a list", "a string", …).
    public var kind: String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "a whole number"
        case .double: "a number"
        case .string: "a string"
        case .sequence: "a list"
        case .mapping: "a map"
        }
    }
}

/// One key and value of a mapping.
public struct YAMLEntry: Sendable, Equatable {
    public var key: String
    public var value: YAMLNode
    /// Where the key is written.
    public var keyMark: YAMLMark

    public init(key: String, value: YAMLNode, keyMark: YAMLMark) {
        self.key = key
        self.value = value
        self.keyMark = keyMark
    }
}

/// Why a text could not be read; `mark` says where, when libyaml or the reader knows.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var mark: YAMLMark?

    public init(_ message: String, at mark: YAMLMark?) {
        self.message = message
        self.mark = mark
    }

    public var description: String {
        guard let mark else { return message }
        return "line \(mark.line), column \(mark.column): \(message)"
    }
}
