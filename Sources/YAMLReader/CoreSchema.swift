/// Resolution of plain scalars by the YAML 1.2 core schema (yaml.org/spec/1.2.2, 10.3.2).
enum CoreSchema {
    static func resolve(_ text: String) -> YAMLNode.Value {
        if isNull(text) { return .null }
        if let value = bool(text) { return .bool(value) }
        if let value = int(text) { return .int(value) }
        // An integer too large for Int is still a number, as it would be in JSON.
        if isDecimalInteger(text), let value = Double(text) { return .double(value) }
        if let value = double(text) { return .double(value) }
        return .string(text)
    }

    static func isNull(_ text: String) -> Bool {
        switch text {
        case "", "~", "null", "Null", "NULL": true
        default: false
        }
    }

    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE": true
        case "false", "False", "FALSE": false
        default: nil
        }
    }

    /// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
    static func int(_ text: String) -> Int? {
        if text.hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16).flatMap { isDigits($0, text.dropFirst(2)) } }
        if text.hasPrefix("0o") { return Int(text.dropFirst(2), radix: 8).flatMap { isDigits($0, text.dropFirst(2)) } }
        guard isDecimalInteger(text) else { return nil }
        return Int(text)
    }

    /// `Int(_:radix:)` also takes a sign; the core schema's hex and octal forms have none.
    private static func isDigits(_ value: Int, _ digits: Substring) -> Int? {
        guard let first = digits.utf8.first, first != UInt8(ascii: "+"), first != UInt8(ascii: "-") else { return nil }
        return value
    }

    static func isDecimalInteger(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        return !bytes.isEmpty && bytes.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?\.inf` and `.nan` in their three spellings.
    static func double(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        let bytes = Array(text.utf8)
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
        let whole = digits()
        var fraction = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            fraction = digits()
            // `.5` and `5.` are numbers, a lone `.` is not.
            guard whole > 0 || fraction > 0 else { return nil }
        } else if whole == 0 {
            return nil
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        guard index == bytes.count else { return nil }
        // Swift's parser wants a digit before the point and after it.
        var normalized = text
        if whole == 0 { normalized = normalized.replacingFirstPoint(with: "0.") }
        if fraction == 0, let dot = normalized.firstIndex(of: ".") {
            normalized.insert("0", at: normalized.index(after: dot))
        }
        return Double(normalized)
    }
}

extension String {
    fileprivate func replacingFirstPoint(with replacement: String) -> String {
        guard let dot = firstIndex(of: ".") else { return self }
        return String(self[..<dot]) + replacement + String(self[index(after: dot)...])
    }
}
