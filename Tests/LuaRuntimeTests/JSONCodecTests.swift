import Foundation
import Logging
import Testing
@testable import LuaRuntime

/// The JSON<->Lua codec must round-trip what providers send and receive without loss.
@Suite struct JSONCodecTests {
    let vm: LuaVM

    init() throws {
        vm = try LuaVM(limits: LuaLimits(), logger: Logger(label: "test"))
    }

    /// decode then encode in Lua.
    func roundTrip(_ json: String) throws -> String? {
        try vm.evaluate("return gw.json.encode(gw.json.decode(\(luaString(json))))")
    }

    func luaString(_ text: String) -> String {
        "\"" + text.unicodeScalars.map { scalar -> String in
            if scalar == "\\" { return "\\\\" }
            if scalar == "\"" { return "\\\"" }
            if scalar.value < 0x20 || scalar.value > 0x7e { return scalar.utf8Escaped }
            return String(scalar)
        }.joined() + "\""
    }

    @Test func emptyArrayAndObjectStayDistinct() throws {
        #expect(try roundTrip("[]") == "[]")
        #expect(try roundTrip("{}") == "{}")
        #expect(try roundTrip(#"{"a":[]}"#) == #"{"a":[]}"#)
        #expect(try roundTrip(#"{"a":{}}"#) == #"{"a":{}}"#)
        #expect(try roundTrip("[[],{},[{}]]") == "[[],{},[{}]]")
    }

    @Test func nullIsPreserved() throws {
        #expect(try roundTrip("[null,1,null]") == "[null,1,null]")
        #expect(try roundTrip(#"{"a":null}"#) == #"{"a":null}"#)
        #expect(try vm.evaluate("return gw.json.decode('null') == gw.json.null") == "true")
    }

    @Test func integersStayIntegersAndFloatsStayFloats() throws {
        #expect(try roundTrip("1") == "1")
        #expect(try roundTrip("-42") == "-42")
        #expect(try roundTrip("1.0") == "1.0")
        #expect(try roundTrip("9007199254740993") == "9007199254740993")
        #expect(try roundTrip("9223372036854775807") == "9223372036854775807")
        #expect(try roundTrip("0.1") == "0.1")
        #expect(try roundTrip("1e2") == "100.0")
        #expect(try roundTrip("-0") == "-0.0")
        #expect(try vm.evaluate("return math.type(gw.json.decode('1'))") == "integer")
        #expect(try vm.evaluate("return math.type(gw.json.decode('1.0'))") == "float")
        // Beyond 64 bits an integer literal becomes the nearest float rather than failing.
        #expect(try vm.evaluate("return math.type(gw.json.decode('18446744073709551616'))") == "float")
        #expect(try vm.evaluate("return gw.json.encode(0.1 + 0.2)") == "0.30000000000000004")
    }

    @Test func escapesAndSurrogatePairs() throws {
        #expect(try vm.evaluate(#"return gw.json.decode('"a\\n\\t\\"\\\\\\/\\b\\f\\r"') == 'a\n\t"\\/\b\f\r'"#) == "true")
        #expect(try roundTrip(#""a\n\t\"\\\/\b\f\r\u0001""#) == #""a\n\t\"\\/\b\f\r\u0001""#)
        // U+1F600 as a surrogate pair decodes to its 4-byte UTF-8 form.
        #expect(try vm.evaluate(#"return gw.json.decode('"\\ud83d\\ude00"') == '\u{1F600}'"#) == "true")
        #expect(try vm.evaluate(#"return gw.json.decode('"\\u00e9"') == 'é'"#) == "true")
        #expect(try roundTrip("\"héllo 😀\"") == "\"héllo 😀\"")
    }

    @Test func invalidInputIsRejectedWithAPosition() throws {
        let cases: [(String, String)] = [
            (#"{"a":1,}"#, "line 1, column 8"),
            (#"{"a" 1}"#, "line 1, column 6"),
            ("[1,\n 2,\n x]", "line 3, column 2"),
            (#""\ud83d""#, "lone high surrogate"),
            (#""\ude00""#, "lone low surrogate"),
            ("[1] 2", "unexpected data after"),
            (#"{"a":tru}"#, "invalid literal"),
            ("01", "unexpected data after"),
            ("\"tab\there\"", "control character"),
        ]
        for (input, expected) in cases {
            let error = #expect(throws: LuaError.self) { try vm.evaluate("return gw.json.decode(\(luaString(input)))") }
            #expect(error?.message.contains(expected) == true, "\(input): \(error?.message ?? "")")
            #expect(error?.message.contains("invalid JSON at") == true)
        }
    }

    @Test func invalidUTF8IsRejected() throws {
        let error = #expect(throws: LuaError.self) { try vm.evaluate(#"return gw.json.decode('"ab\255"')"#) }
        #expect(error?.message.contains("invalid UTF-8") == true)
        #expect(error?.message.contains("byte 3") == true)
        let overlong = #expect(throws: LuaError.self) { try vm.evaluate(#"return gw.json.decode('"\192\175"')"#) }
        #expect(overlong?.message.contains("invalid UTF-8") == true)
        let encode = #expect(throws: LuaError.self) { try vm.evaluate(#"return gw.json.encode('\255')"#) }
        #expect(encode?.message.contains("not valid UTF-8") == true)
    }

    @Test func deepNestingIsRefusedNotCrashed() throws {
        let ok = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        #expect(try roundTrip(ok) == ok)
        let deep = String(repeating: "[", count: 257) + String(repeating: "]", count: 257)
        let error = #expect(throws: LuaError.self) { try roundTrip(deep) }
        #expect(error?.message.contains("nesting deeper than 256") == true)
        let huge = String(repeating: "[", count: 100_000)
        #expect(throws: LuaError.self) { try roundTrip(huge) }
        let cycle = #expect(throws: LuaError.self) { try vm.evaluate("local t = {}; t.self = t; return gw.json.encode(t)") }
        #expect(cycle?.message.contains("nesting deeper") == true)
    }

    @Test func encodingRules() throws {
        #expect(try vm.evaluate("return gw.json.encode({1, 2, 3})") == "[1,2,3]")
        #expect(try vm.evaluate("return gw.json.encode(gw.json.array())") == "[]")
        #expect(try vm.evaluate("return gw.json.encode({})") == "{}")
        #expect(try vm.evaluate("return gw.json.encode({[1] = 'a', [3] = 'c'})") == #"{"1":"a","3":"c"}"# ||
                vm.evaluate("return gw.json.encode({[1] = 'a', [3] = 'c'})") == #"{"3":"c","1":"a"}"#)
        #expect(throws: LuaError.self) { try vm.evaluate("return gw.json.encode(0/0)") }
        #expect(throws: LuaError.self) { try vm.evaluate("return gw.json.encode(math.huge)") }
        #expect(throws: LuaError.self) { try vm.evaluate("return gw.json.encode({f = print})") }
        // A realistic object survives decode/encode with the same meaning.
        let request = #"{"model":"gpt-4","messages":[{"role":"user","content":"hi","name":null}],"temperature":0.7,"n":1,"stop":[],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]}"#
        let again = try #require(try roundTrip(request))
        let a = try JSONSerialization.jsonObject(with: Data(request.utf8)) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(again.utf8)) as? NSDictionary
        #expect(a == b)
        #expect(again.contains(#""properties":{}"#))
        #expect(again.contains(#""stop":[]"#))
        #expect(again.contains(#""temperature":0.7"#))
    }
}

/// The fast validating scan that guards the passthrough path.
@Suite struct JSONScanTests {
    func scan(_ text: String) throws(JSONScan.Failure) -> JSONScan {
        try JSONScan.scan(Array(text.utf8))
    }

    @Test func findsModelAndStream() throws {
        let result = try scan(#" {"messages":[{"model":"inner"}],"model":"gpt-4o","stream":true} "#)
        #expect(result.isObject)
        #expect(result.model == "gpt-4o")
        #expect(result.stream == true)
        let none = try scan(#"{"stream":false}"#)
        #expect(none.model == nil)
        #expect(none.stream == false)
        #expect(try scan(#"{"model":"a\/b"}"#).model == "a/b")
        #expect(try scan("[1]").isObject == false)
    }

    @Test func rejectsMalformedJSONWithPosition() {
        for (input, position) in [(#"{"a":}"#, 5), (#"{"a":1"#, 6), ("", 0), (#"{"a":"\u12"}"#, 10)] {
            do {
                _ = try scan(input)
                Issue.record("\(input) should fail")
            } catch {
                #expect(error.offset == position, "\(input): \(error.reason) at \(error.offset)")
            }
        }
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONScan.Failure.self) { try scan(deep) }
        let invalidUTF8: [UInt8] = Array(#"{"model":"a"#.utf8) + [0xFF] + Array(#""}"#.utf8)
        do {
            _ = try JSONScan.scan(invalidUTF8)
            Issue.record("invalid UTF-8 should fail")
        } catch {
            #expect(error.reason.contains("UTF-8"))
            #expect(error.offset == 11)
        }
    }

    /// Strings are skipped eight bytes at a time until a byte needs a look: every such byte, at
    /// every offset around and across the eight-byte words, is found — and judged as a byte-by-byte
    /// scan judges it, with the failure at its own position.
    @Test func everySpecialByteIsSeenAtEveryOffset() {
        let cases: [(bytes: [UInt8], valid: Bool)] = [
            ([0x00], false), ([0x1F], false), ([0x0A], false), ([0x7F], true), ([0x20], true),
            ([0x5C, 0x6E], true), ([0x5C, 0x22], true), ([0x5C, 0x78], false),   // \n, \", \x
            ([0xC3, 0xA9], true), ([0xE2, 0x82, 0xAC], true), ([0xFF], false), ([0xC3], false), ([0x80], false),
        ]
        for (special, valid) in cases {
            for before in 0..<18 {
                for after in [0, 1, 7, 8, 9] {
                    let text: [UInt8] = Array(#"{"k":""#.utf8) + Array(repeating: UInt8(ascii: "a"), count: before) + special
                        + Array(repeating: UInt8(ascii: "b"), count: after) + Array(#""}"#.utf8)
                    let failure: JSONScan.Failure?
                    do {
                        _ = try JSONScan.scan(text)
                        failure = nil
                    } catch {
                        failure = error
                    }
                    #expect((failure == nil) == valid, "\(special) after \(before) bytes: \(failure?.reason ?? "accepted")")
                    if let failure, !valid {
                        #expect(failure.offset >= 6 + before && failure.offset <= 6 + before + special.count,
                                "\(special) after \(before) bytes: failed at \(failure.offset)")
                    }
                }
            }
        }
        // A quote ends the string wherever it falls: what follows it is read as JSON.
        for before in 0..<18 {
            let text = #"{"k":""# + String(repeating: "a", count: before) + #"","z":1}"#
            #expect((try? JSONScan.scan(Array(text.utf8))) != nil, "quote after \(before) bytes")
        }
    }
}

extension Unicode.Scalar {
    /// A Lua escape for the scalar's UTF-8 bytes.
    var utf8Escaped: String {
        String(self).utf8.map { "\\\($0)" }.joined()
    }
}
