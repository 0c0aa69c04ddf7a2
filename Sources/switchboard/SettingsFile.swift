import ArgumentParser
import Configuration
import FoundationEssentials
import GatewayCore
import YAMLReader

/// A settings file (JSON or YAML; YAML contains JSON, so one reader does both), read into what
/// ``Settings`` needs: its values under flattened keys in an `InMemoryProvider`, and its
/// structured sections (`virtual_keys`) as JSON text.
struct SettingsFile {
    /// Top-level keys whose value may be a map or a list, handed on whole as JSON text.
    static let structuredSections: Set<String> = ["virtual_keys", "metadata_limits"]
    /// Lists whose items may be objects as well as strings (`gateway_keys`): such a list is kept
    /// as JSON text too.
    static let objectListSections: Set<String> = ["gateway_keys"]

    var provider: InMemoryProvider
    /// The text of each plain (unquoted) scalar setting that the YAML core schema did not read as
    /// a string, by setting key. A setting reads the value as the type it wants, as YAML readers
    /// do: `admin_token: 0123` is the string "0123", `timeout: 30.0` the whole number 30,
    /// `metrics: off` false. A quoted value stays a string.
    var plainText: [String: String]
    var sections: [String: String]

    /// - Parameters:
    ///   - keys: every key the file may hold; others stop startup with a "did you mean".
    ///   - isSecret: by setting key; secret values are redacted wherever swift-configuration shows them.
    static func read(_ path: String, keys: [String], isSecret: (String) -> Bool) throws -> SettingsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--config-file \(path) does not exist or is not readable")
        }
        let root: YAMLNode?
        do {
            root = try YAMLReader.read([UInt8](data))
        } catch {
            let place = error.mark.map { "\(path):\($0.line):\($0.column)" } ?? path
            throw ValidationError("the settings file is not valid JSON or YAML: \(place): \(error.message)")
        }
        guard let root, root.value != .null else {
            return SettingsFile(provider: InMemoryProvider(name: path, values: [:]), plainText: [:], sections: [:])
        }
        guard case .mapping(let entries) = root.value else {
            throw ValidationError("the settings file \(path) must be a mapping of setting names to values")
        }
        let unknown = entries.map(\.key).filter { !keys.contains($0) }.sorted()
        if !unknown.isEmpty {
            let hints = unknown.map { key in
                let spelled = key.lowercased().replacing("-", with: "_")
                let near = keys.min { editDistance($0, spelled) < editDistance($1, spelled) }
                guard let near, editDistance(near, spelled) <= 2 else { return "'\(key)'" }
                return "'\(key)' (did you mean '\(near)'?)"
            }
            throw ValidationError("the settings file \(path) has unknown settings: \(hints.joined(separator: ", ")). Known: \(keys.joined(separator: ", "))")
        }

        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        var plainText: [String: String] = [:]
        var sections: [String: String] = [:]
        for entry in entries {
            let key = entry.key, node = entry.value
            let secret = isSecret(key)
            if node.value == .null { continue }  // `key:` with nothing after it leaves the setting unset
            if node.text == nil && structuredSections.contains(key) {
                do {
                    sections[key] = try jsonText(node)
                } catch {
                    throw ValidationError("'\(key)' in \(path) (\(error.mark.map { "\($0)" } ?? "")) cannot be written as JSON: \(error.message)")
                }
                flatten(node, under: [key], secret: secret, into: &values)
                continue
            }
            switch node.value {
            case .mapping:
                throw ValidationError("'\(key)' in \(path) (\(node.mark)) must be a single value or a list, not a map")
            case .sequence(let items):
                if objectListSections.contains(key), items.contains(where: { $0.text == nil && $0.value != .null }) {
                    // A list with objects in it (gateway keys with limits): read as JSON.
                    do {
                        sections[key] = try jsonText(node)
                    } catch {
                        throw ValidationError("'\(key)' in \(path) (\(error.mark.map { "\($0)" } ?? "")) cannot be written as JSON: \(error.message)")
                    }
                    continue
                }
                var texts: [String] = []
                for item in items {
                    guard let text = item.text, item.value != .null else {
                        throw ValidationError("'\(key)' in \(path) (\(item.mark)) must be a list of strings, and this item is \(item.kind)")
                    }
                    texts.append(text)
                }
                values[AbsoluteConfigKey([key])] = ConfigValue(.stringArray(texts), isSecret: secret)
            case .null, .bool, .int, .double, .string:
                if let content = scalarContent(node) {
                    values[AbsoluteConfigKey([key])] = ConfigValue(content, isSecret: secret)
                }
                if node.isPlain, let text = node.text { plainText[key] = text }
            }
        }
        return SettingsFile(provider: InMemoryProvider(name: path, values: values), plainText: plainText, sections: sections)
    }

    /// A plain scalar's text read as the type a setting wants, the way YAML 1.1 readers (and
    /// the Yams-based reader before this one) did: numbers in any spelling Swift reads, an exact
    /// float as a whole number, `yes`/`no`/`on`/`off` as booleans.
    static func coerce(_ text: String, to type: ConfigType) -> ConfigContent? {
        switch type {
        case .string:
            return .string(text)
        case .int:
            if let value = Int(text) { return .int(value) }
            if let value = Double(text), let exact = Int(exactly: value) { return .int(exact) }
            return nil
        case .double:
            return Double(text).map(ConfigContent.double)
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "y", "on": return .bool(true)
            case "false", "no", "n", "off": return .bool(false)
            default: return nil
            }
        default:
            return nil
        }
    }

    private static func scalarContent(_ node: YAMLNode) -> ConfigContent? {
        switch node.value {
        case .bool(let value): .bool(value)
        case .int(let value): .int(value)
        case .double(let value): .double(value)
        case .string(let value): .string(value)
        case .null, .sequence, .mapping: nil
        }
    }

    /// A structured section's values under dotted keys (`virtual_keys.team.api_key`), so
    /// swift-configuration holds all of the file and redacts the secret ones.
    private static func flatten(_ node: YAMLNode, under path: [String], secret: Bool,
                                into values: inout [AbsoluteConfigKey: ConfigValue]) {
        switch node.value {
        case .mapping(let entries):
            for entry in entries { flatten(entry.value, under: path + [entry.key], secret: secret, into: &values) }
        case .sequence(let items):
            let texts = items.compactMap { $0.value == .null ? nil : $0.text }
            if texts.count == items.count {
                values[AbsoluteConfigKey(path)] = ConfigValue(.stringArray(texts), isSecret: secret)
            }
        default:
            if let content = scalarContent(node) { values[AbsoluteConfigKey(path)] = ConfigValue(content, isSecret: secret) }
        }
    }

    /// The node as JSON text.
    static func jsonText(_ node: YAMLNode) throws(YAMLError) -> String {
        var out = ""
        try writeJSON(node, into: &out)
        return out
    }

    private static func writeJSON(_ node: YAMLNode, into out: inout String) throws(YAMLError) {
        switch node.value {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value):
            guard value.isFinite else { throw YAMLError("\(node.text ?? "\(value)") is not a JSON number", at: node.mark) }
            out += "\(value)"
        case .string(let value): out += JSONText.quote(value)
        case .sequence(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                try writeJSON(item, into: &out)
            }
            out += "]"
        case .mapping(let entries):
            out += "{"
            for (index, entry) in entries.enumerated() {
                if index > 0 { out += "," }
                out += JSONText.quote(entry.key) + ":"
                try writeJSON(entry.value, into: &out)
            }
            out += "}"
        }
    }
}
