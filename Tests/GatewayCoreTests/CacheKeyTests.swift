import LuaRuntime
import NIOCore
import Testing
@testable import GatewayCore

/// Which requests share a cache entry.
@Suite struct CacheKeyTests {
    func key(_ body: String, provider: String = "openai", endpoint: String = "chat/completions",
             credential: String? = "sk-1") -> CacheKey? {
        CacheKey.make(provider: provider, endpoint: endpoint, credential: credential, body: Array(body.utf8))
    }

    func canonical(_ json: String) -> String? {
        JSONTree.parse(Array(json.utf8)).map { String(decoding: $0.bytes(sortedKeys: true), as: UTF8.self) }
    }

    @Test func memberOrderDoesNotMatterAtAnyDepth() throws {
        let a = key(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"b":1,"a":{"y":2,"x":[{"q":1,"p":2}]}}}}"#)
        let b = key(#"{"response_format":{"json_schema":{"a":{"x":[{"p":2,"q":1}],"y":2},"b":1},"type":"json_schema"},"messages":[{"content":"hi","role":"user"}],"model":"m"}"#)
        #expect(try #require(a) == b)
        #expect(a?.hashValue == b?.hashValue)
        // Array order is meaning, not formatting.
        let swapped = key(#"{"model":"m","messages":[{"role":"user","content":"b"},{"role":"user","content":"a"}]}"#)
        let original = key(#"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}"#)
        #expect(swapped != original)
    }

    @Test func whitespaceAndStringEscapesDoNotMatter() throws {
        let compact = try #require(key(#"{"model":"gpt-4o","messages":[{"role":"user","content":"A/é😀\n"}],"n":1}"#))
        let pretty = key("""
            {
              "model" : "gpt-4o",
              "messages" : [ { "role" : "user" , "content" : "\\u0041\\/\\u00e9\\ud83d\\ude00\\u000a" } ],
              "n" : 1
            }
            """)
        #expect(pretty == compact)
        #expect(key(#"{"model":"gpt-4o","messages":[{"role":"user","content":"A/é😀 "}],"n":1}"#) != compact)
    }

    @Test func streamingFieldsAreIgnoredOnlyAtTopLevel() throws {
        let plain = try #require(key(#"{"model":"m","messages":[]}"#))
        #expect(key(#"{"stream":true,"model":"m","messages":[],"stream_options":{"include_usage":true}}"#) == plain)
        #expect(key(#"{"model":"m","messages":[],"stream":false}"#) == plain)
        #expect(key(#"{"model":"m","messages":[],"metadata":{"stream":true}}"#) != plain)
    }

    @Test func numberLiteralsAndValueTypesAreKeptExactly() throws {
        let seed1 = try #require(key(#"{"model":"m","seed":12345678901234567891}"#))
        let seed2 = try #require(key(#"{"model":"m","seed":12345678901234567892}"#))
        #expect(seed1 != seed2)  // a Double would make these equal
        #expect(key(#"{"model":"m","temperature":1}"#) != key(#"{"model":"m","temperature":1.0}"#))
        #expect(key(#"{"model":"m","temperature":1e0}"#) != key(#"{"model":"m","temperature":1E0}"#))
        #expect(key(#"{"model":"m","x":true}"#) != key(#"{"model":"m","x":"true"}"#))
        #expect(key(#"{"model":"m","x":null}"#) != key(#"{"model":"m"}"#))
        #expect(key(#"{"model":"m","x":[]}"#) != key(#"{"model":"m","x":{}}"#))
        // Duplicate names keep their relative order: last-wins parsers read these differently.
        #expect(key(#"{"a":1,"a":2}"#) != key(#"{"a":2,"a":1}"#))
    }

    @Test func canonicalFormIsSortedCompactAndKeepsLiterals() {
        #expect(canonical(#"{ "b" : [ 1.50 , -0, 2E+3, "\u00e9\t\u0001\"\\" ], "a" : { "d" : null, "c" : true }, "B": false }"#)
            == #"{"B":false,"a":{"c":true,"d":null},"b":[1.50,-0,2E+3,"é\t\u0001\"\\"]}"#)
        // Sorted by UTF-8 bytes, not by Unicode collation.
        #expect(canonical(#"{"é":1,"z":2,"Z":3}"#) == #"{"Z":3,"z":2,"é":1}"#)
    }

    @Test func stringsAreWrittenWithTheGatewaysOneEscapingConvention() {
        let text = String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) }) + "é😀\u{2028}"
        var out: [UInt8] = []
        JSONTree.writeString(text, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == JSONText.quote(text))
    }

    @Test func providerEndpointAndCredentialAreAllPartOfTheKey() throws {
        let body = #"{"model":"m","messages":[]}"#
        let base = try #require(key(body))
        #expect(key(body, credential: "sk-2") != base)
        #expect(key(body, credential: nil) != base)
        #expect(key(body, credential: nil) != key(body, credential: ""))
        #expect(key(body, provider: "groq") != base)
        #expect(key(body, endpoint: "completions") != base)
        // Fields cannot run into each other.
        #expect(key(body, provider: "ab", endpoint: "c") != key(body, provider: "a", endpoint: "bc"))
        #expect(key(body, provider: "openai", endpoint: "chat/completions", credential: "sk-1") == base)
    }

    @Test func byteBufferAndArrayBodiesGiveTheSameKey() throws {
        let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#
        let fromBuffer = CacheKey.make(provider: "openai", endpoint: "chat/completions", credential: "sk-1",
                                       body: ByteBuffer(string: body))
        #expect(try #require(fromBuffer) == key(body))
    }

    @Test func byteCountIsTheCanonicalBodyLength() throws {
        let made = try #require(key(#"{ "b" : 1 ,  "a" : "x", "stream" : true }"#))
        #expect(made.byteCount == #"{"a":"x","b":1}"#.utf8.count)
    }

    @Test func bodiesThatAreNotJSONObjectsAreNotCacheable() {
        for body in ["", "[1]", "\"x\"", "42", "null", #"{"a":}"#, #"{"a":1} x"#, #"{"a":1,}"#, #"{"a":01}"#,
                     #"{"a":1."#, #"{"a":"\ud800"}"#, #"{"a":"\udc00x"}"#, #"{"a":"\x"}"#, #"{"a":"un"#, "{\"a\":\"\t\"}",
                     #"{'a':1}"#, #"{"a":tru}"#, #"{"a":-}"#, "\u{FEFF}{}"] {
            #expect(key(body) == nil, "\(body)")
        }
        // Invalid UTF-8 inside a string.
        #expect(CacheKey.make(provider: "p", endpoint: "e", credential: nil,
                              body: Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) == nil)
        #expect(key("{}") != nil)
    }

    @Test func nestingIsBounded() {
        func nested(_ depth: Int) -> String {
            // The object counts as one level.
            "{\"a\":" + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}"
        }
        #expect(key(nested(JSONTree.maxDepth)) != nil)
        #expect(key(nested(JSONTree.maxDepth + 1)) == nil)
        #expect(key(nested(100_000)) == nil)  // refused, not a stack overflow
    }

    @Test func sha256MatchesTheStandardVectors() {
        func hex(_ bytes: [UInt8]) -> String {
            bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }
        #expect(hex(SHA256.digest(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
