import Foundation
import Logging
import Testing
@testable import LuaRuntime

/// Replays the committed seed corpus of the `json` fuzz target (bench/fuzz-corpus/json/, see
/// bench/fuzz-targets/json_codec.c) through the codec as scripts see it: the scan and the decoder
/// agree on validity, and a decoded value encodes and decodes back to an equal value (a value
/// holding an infinity, e.g. from 1e400, is refused by the encoder instead).
@Suite struct JSONFuzzCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bench/fuzz-corpus/json")

    /// Lua source for a string literal holding exactly `bytes`.
    static func luaLiteral(_ bytes: [UInt8]) -> String {
        "\"" + bytes.map { byte -> String in
            (0x20..<0x7f).contains(byte) && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                ? String(UnicodeScalar(byte)) : "\\" + String(format: "%03d", byte)
        }.joined() + "\""
    }

    static let check = """
        local function hasinf(x, depth)
          if depth > 300 then return false end
          if math.type(x) == "float" then return x == math.huge or x == -math.huge end
          if type(x) ~= "table" then return false end
          for _, v in pairs(x) do if hasinf(v, depth + 1) then return true end end
          return false
        end
        local function eq(a, b, depth)
          if depth > 300 or type(a) ~= type(b) then return false end
          if type(a) == "number" then return math.type(a) == math.type(b) and a == b end
          if type(a) ~= "table" then return rawequal(a, b) end
          if not rawequal(getmetatable(a), getmetatable(b)) then return false end
          for k, v in pairs(a) do if not eq(v, b[k], depth + 1) then return false end end
          for k in pairs(b) do if a[k] == nil then return false end end
          return true
        end
        local ok, value = pcall(gw.json.decode, input)
        if not ok then return "invalid" end
        local encoded_ok, encoded = pcall(gw.json.encode, value)
        if hasinf(value, 0) then return encoded_ok and "encoded an infinity" or "ok" end
        if not encoded_ok then return "encode failed: " .. tostring(encoded) end
        local again_ok, again = pcall(gw.json.decode, encoded)
        if not again_ok then return "the encoding does not decode: " .. tostring(again) end
        if not eq(value, again, 0) then return "decode(encode(v)) differs from v" end
        return "ok"
        """

    @Test func seedCorpusRoundTrips() throws {
        let vm = try LuaVM(limits: LuaLimits(), logger: Logger(label: "test"))
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(names.count >= 3)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            let verdict = try vm.evaluate("local input = \(Self.luaLiteral(bytes))\n" + Self.check)
            let scanned = (try? JSONScan.scan(bytes)) != nil
            if verdict == "invalid" {
                #expect(!scanned, "json/\(name): the scan accepts what the decoder refuses")
            } else {
                #expect(scanned, "json/\(name): the decoder accepts what the scan refuses")
                #expect(verdict == "ok", "json/\(name): \(verdict ?? "nil")")
            }
        }
    }

    /// The scan reads "model" and "stream" as the decoder does: escaped key spellings count, and
    /// the last of repeated keys wins even when it is not a string / boolean. (Fails on the scan
    /// that compared raw key bytes and only ever set a model.)
    @Test func scanAgreesWithTheDecoderOnModelAndStream() throws {
        let escaped = try JSONScan.scan(Array(#"{"mod\u0065l":"a","str\u0065am":true}"#.utf8))
        #expect(escaped.model == "a")
        #expect(escaped.stream == true)
        let repeated = try JSONScan.scan(Array(#"{"model":"a","stream":true,"model":5,"stream":null}"#.utf8))
        #expect(repeated.model == nil)
        #expect(repeated.stream == nil)
        let last = try JSONScan.scan(Array(#"{"model":"a","model":"b","stream":false,"stream":true}"#.utf8))
        #expect(last.model == "b")
        #expect(last.stream == true)
    }
}
