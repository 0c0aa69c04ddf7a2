/// A tiny ordered JSON writer.
///
/// Why not JSONEncoder: the output's key order should match the documented shape so a human
/// diffing two runs can read it, and empty distributions must print `null` rather than
/// dropping the key.
enum JSONValue {
    case int(Int)
    case number(Double)
    case string(String)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    init(_ value: Double?) {
        self = value.map { .number($0) } ?? .null
    }

    /// Rounds to microsecond precision (3 decimals of a millisecond) to keep output readable.
    static func rounded(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }

    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .int(let value):
            out += String(value)
        case .number(let value):
            let rounded = Self.rounded(value)
            if !rounded.isFinite {
                out += "null"
            } else if rounded == rounded.rounded(), abs(rounded) < 1e15 {
                out += String(Int(rounded))  // 2000, not 2000.0
            } else {
                out += String(rounded)
            }
        case .string(let value):
            Self.writeString(value, to: &out)
        case .null:
            out += "null"
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
