import Logging
import Testing
@testable import LuaRuntime

/// `gw.regex` (JavaScript regular expressions in the linear-time engine), `gw.base64.url_decode`
/// and `gw.crypto.rsa_sha256_verify`, as check plugins call them.
@Suite struct RegexHostTests {
    let vm: LuaVM

    init() throws {
        vm = try LuaVM(limits: LuaLimits(memoryBytes: 16 * 1024 * 1024, instructionBudget: 1_000_000),
                       logger: Logger(label: "test"))
    }

    func lua(_ code: String) throws -> String? { try vm.evaluate(code) }

    /// The message of the error `code` raises, without the "eval:1: " that names the script's line.
    func luaError(_ code: String) -> String {
        let error = #expect(throws: LuaError.self) { try vm.evaluate(code) }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("eval:1: "), "\(message)")
        return String(message.dropFirst("eval:1: ".count))
    }

    @Test func testAnswersYesOrNo() throws {
        #expect(try lua("return gw.regex.test('^gpt-4(o|-turbo)?$', 'gpt-4o')") == "true")
        #expect(try lua("return gw.regex.test('^gpt-4(o|-turbo)?$', 'gpt-5')") == "false")
        #expect(try lua("return gw.regex.test('APPLE', 'an apple a day', 'i')") == "true")
        #expect(try lua("return gw.regex.test('APPLE', 'an apple a day')") == "false")
        #expect(try lua("return gw.regex.test('apple', 'an apple', nil)") == "true")
        #expect(try lua(#"return gw.regex.test('^\\d{3}-\\d{4}$', 'call\n555-1234\nnow', 'm')"#) == "true")
        #expect(try lua(#"return gw.regex.test('^\\d{3}-\\d{4}$', 'call\n555-1234\nnow')"#) == "false")
    }

    @Test func findGivesOneBasedInclusiveByteOffsets() throws {
        #expect(try lua("return table.concat({gw.regex.find('b+', 'abbbc')}, ',')") == "2,4")
        #expect(try lua("return table.concat({gw.regex.find('a|ab', 'xab')}, ',')") == "2,2")
        #expect(try lua("return table.concat({gw.regex.find('(a|ab)(c|bcd)', 'abcd')}, ',')") == "1,4")
        #expect(try lua("return table.concat({gw.regex.find('a+?', 'aaa')}, ',')") == "1,1")
        // Bytes, not characters: é is two bytes.
        #expect(try lua("return table.concat({gw.regex.find('ö+', 'héllo wörld')}, ',')") == "9,10")
        #expect(try lua("local s, e = gw.regex.find('ö', 'héllo wörld'); return ('héllo wörld'):sub(s, e)") == "ö")
        // An empty match, as string.find reports one.
        #expect(try lua("return table.concat({gw.regex.find('x*', 'abc')}, ',')") == "1,0")
        #expect(try lua("return gw.regex.find('z', 'abc')") == nil)
        // init: where the search starts (negative counts from the end, as string.find).
        #expect(try lua("return table.concat({gw.regex.find('a', 'banana', nil, 3)}, ',')") == "4,4")
        #expect(try lua("return table.concat({gw.regex.find('a', 'banana', '', -2)}, ',')") == "6,6")
        #expect(try lua("return gw.regex.find('a', 'banana', '', 8)") == nil)
        #expect(try lua("return table.concat({gw.regex.find('$', 'ab', '', 3)}, ',')") == "3,2")
        // ^ is the start of the text even when the search starts later (JavaScript's lastIndex).
        #expect(try lua("return gw.regex.find('^a', 'aa', '', 2)") == nil)
        #expect(try lua("return table.concat({gw.regex.find('^a', 'xa\\na', 'm', 2)}, ',')") == "4,4")
    }

    @Test func gsubReplacesTheFirstOrEveryMatch() throws {
        #expect(try lua("return table.concat({gw.regex.gsub('a', 'banana', 'o')}, ',')") == "bonana,1")
        #expect(try lua("return table.concat({gw.regex.gsub('a', 'banana', 'o', 'g')}, ',')") == "bonono,3")
        #expect(try lua("return table.concat({gw.regex.gsub('A', 'banana', 'o', 'gi')}, ',')") == "bonono,3")
        #expect(try lua("return table.concat({gw.regex.gsub('z', 'banana', 'o', 'g')}, ',')") == "banana,0")
        // $& is the match, $$ a dollar, $` and $' the text before and after; any other $ is literal.
        #expect(try lua("return (gw.regex.gsub('\\\\d+', 'pay 42 now', '[$&] $$ $x $'))") == "pay [42] $ $x $ now")
        #expect(try lua("return (gw.regex.gsub('a', 'aaa', '[$&|$$|$`|$\\']'))") == "[a|$||aa]aa")
        #expect(try lua("return (gw.regex.gsub('a', 'xax', '$$1'))") == "x$1x")
        // Empty matches, as JavaScript: "abc".replace(/x*/g, "-") and "abc".replace(/b*/g, "-").
        #expect(try lua("return table.concat({gw.regex.gsub('x*', 'abc', '-', 'g')}, ',')") == "-a-b-c-,4")
        #expect(try lua("return (gw.regex.gsub('b*', 'abc', '-', 'g'))") == "-a--c-")
        #expect(try lua("return (gw.regex.gsub('', 'héé', '/', 'g'))") == "/h/é/é/")
        // Redaction as the PII mutator does it.
        #expect(try lua(#"return (gw.regex.gsub('[\\w.+-]+@[\\w-]+\\.[\\w.]+', 'mail bob@example.com or Al@x.org', '[EMAIL]', 'g'))"#)
                == "mail [EMAIL] or [EMAIL]")
        #expect(try lua("return (gw.regex.gsub('^', 'a\\nb', '> ', 'gm'))") == "> a\n> b")
    }

    @Test func groupReferencesInReplacementsAreRefused() {
        #expect(luaError("return gw.regex.gsub('(a)', 'a', '<$1>')") ==
                "regex: group references in replacements are not supported ($1)")
    }

    @Test func unsupportedSyntaxAndFlagsRaiseNamedErrors() {
        #expect(luaError(#"return gw.regex.test('(a)\\1', 'aa')"#).hasPrefix("regex: backreferences are not supported"))
        #expect(luaError("return gw.regex.test('(?=a)', 'a')").hasPrefix("regex: lookahead is not supported"))
        #expect(luaError("return gw.regex.find('(?<n>a)', 'a')").contains("named groups are not supported"))
        #expect(luaError("return gw.regex.gsub('a', 'a', 'b', 'gx')") == "regex: unknown flag 'x' (supported: g, i, m, s) in /a/")
        #expect(luaError("return gw.regex.test('a', 'a', 'u')").hasPrefix("regex: the flag 'u' is not supported"))
        #expect(luaError("return gw.regex.test('(a', 'a')") == "regex: unclosed '(' at position 2 in /(a/")
        // Not a tail call: the same message, naming the caller's line.
        let error = #expect(throws: LuaError.self) { try vm.evaluate("local ok = true\nok = gw.regex.test('(a', 'a')\nreturn ok") }
        #expect(error?.message == "eval:2: regex: unclosed '(' at position 2 in /(a/")
        // Spans JavaScript would find by backtracking out of an empty iteration: refused by
        // find and gsub, never answered differently; test is exact.
        #expect(luaError("return gw.regex.find('(|a)?b', 'ab')").hasPrefix("regex: a repeated group that can match empty before"))
        #expect(luaError("return gw.regex.gsub('(a*?)*', 'aa', 'x', 'g')").contains("put the empty choice last"))
        #expect((try? lua("return gw.regex.test('(|a)?b', 'ab')")) == "true")
        #expect((try? lua("return table.concat({gw.regex.find('(a|)?b', 'ab')}, ',')")) == "1,2")
        // The VM goes on working after the error.
        #expect((try? lua("return gw.regex.test('a', 'a')")) == "true")
    }

    @Test func pathologicalPatternsStayLinear() throws {
        #expect(try lua("return gw.regex.test('^(a+)+$', string.rep('a', 50000) .. '!')") == "false")
        #expect(try lua("return select(2, gw.regex.gsub('(a|aa)+', string.rep('a', 50000), '', 'g'))") == "1")
    }

    /// A long search (a big program on a long text) stops at the call's time limit with the usual
    /// error, instead of running on inside C.
    @Test func longSearchesStopAtTheTimeLimit() throws {
        let vm = try LuaVM(limits: LuaLimits(memoryBytes: 16 * 1024 * 1024, timeLimitMilliseconds: 100),
                           logger: Logger(label: "test"))
        let started = ContinuousClock.now
        let error = #expect(throws: LuaError.self) {
            // 5 million steps of up to 9,000 threads: minutes of work if nothing stopped it.
            try vm.evaluate("return gw.regex.test('(?:[ab]{1000}){9}x', string.rep('a', 5000000))", chunkName: "plugins/slow.lua")
        }
        #expect(ContinuousClock.now - started < .seconds(10))  // a hang detector, not a timing assertion
        #expect(error?.kind == .budget)
        #expect(error?.message.contains("time limit of 100 ms exceeded") == true, "\(error?.message ?? "")")
        #expect(try vm.evaluate("return gw.regex.test('a', 'a')") == "true")
    }

    @Test func invalidUTF8KeepsByteOffsets() throws {
        // \255 is read as U+FFFD; offsets are still those of the bytes.
        #expect(try lua(#"return table.concat({gw.regex.find('b', 'a\255b')}, ',')"#) == "3,3")
        #expect(try lua(#"return gw.regex.test('a.b', 'a\255b')"#) == "true")
        #expect(try lua(#"return (gw.regex.gsub('', '\255', '-', 'g')) == '-\255-'"#) == "true")
    }

    @Test func compiledPatternsAreCachedPerVM() throws {
        #expect(try lua("for i = 1, 300 do assert(gw.regex.test('x' .. i, 'x' .. i)) end return 'ok'") == "ok")
        #expect(try lua("for i = 1, 3 do assert(gw.regex.test('[a-z]+', 'abc', 'i')) end return 'ok'") == "ok")
    }

    @Test func cacheIsBounded() throws {
        let cache = RegexCache()
        for index in 0..<(RegexCache.maximumEntries + 10) {
            _ = try cache.matcher(pattern: "p\(index)", flags: "")
            #expect(cache.count <= RegexCache.maximumEntries)
        }
        let first = try cache.matcher(pattern: "same", flags: "i")
        #expect(try cache.matcher(pattern: "same", flags: "i") === first)
        #expect(try cache.matcher(pattern: "same", flags: "") !== first)
        // A big pattern counts by its size: a few of them empty the cache.
        for index in 0..<30 { _ = try cache.matcher(pattern: "(?:[ab]{1000}){9}\(index)", flags: "") }
        #expect(cache.count < 30)
    }

    // MARK: Base64url and RSA

    @Test func base64URLDecode() throws {
        #expect(try lua("return gw.base64.url_decode('Zm9vYmE')") == "fooba")
        #expect(try lua("return gw.base64.url_decode('Zm9vYmE=')") == "fooba")
        #expect(try lua("return gw.base64.url_decode('-_8') == '\\251\\255'") == "true")
        #expect(try lua("return gw.base64.url_decode('')") == "")
        #expect(try lua("local v, err = gw.base64.url_decode('ab+c'); return tostring(v) .. ' ' .. err") == "nil invalid base64url at byte 3")
        #expect(try lua("local v, err = gw.base64.url_decode('abcde'); return tostring(v) .. ' ' .. err") == "nil invalid base64url at byte 5")
        #expect(try lua("return gw.json.decode(gw.base64.url_decode('eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9')).alg") == "RS256")
    }

    // A 2048-bit RSA key pair made for this test with `openssl genpkey -algorithm RSA`; only its
    // public half and one signature are kept (a test key, not a secret). The signature is
    // `openssl dgst -sha256 -sign` of the signing input below, base64url.
    static let publicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuWcTH53Vu/vbhvj5NUGx
        WskoP3kKBytdTD6KmgKPvRBuPRoCVep9Cfr+YE9vMK1a42lxKRfKdsJofBasabrK
        LOStZZTIyTIZG+8yT74ZZnpAt6iFsMO9/0rZOjUlB/IcPs3ASGb1zKA2dKVHSMju
        3/Y24Vg02jQbU0Us6q5EN+rcGueR/cxbdLyWwo4qFHhhKjiL20zi4XF+IDK70aNf
        3lllbLJSc6G+lwDCj+IqE77mLxkEjLt+yIFOD7lSkMv0TYxFNxLuFzMCkhokYaaI
        opAnM3DDRKU2EDfb6o/nAc+hFq0tfKgBb43DmYliAi8V/HFqrIk3JDXXI+/0jcpC
        lQIDAQAB
        -----END PUBLIC KEY-----
        """
    static let pkcs1PEM = """
        -----BEGIN RSA PUBLIC KEY-----
        MIIBCgKCAQEAuWcTH53Vu/vbhvj5NUGxWskoP3kKBytdTD6KmgKPvRBuPRoCVep9
        Cfr+YE9vMK1a42lxKRfKdsJofBasabrKLOStZZTIyTIZG+8yT74ZZnpAt6iFsMO9
        /0rZOjUlB/IcPs3ASGb1zKA2dKVHSMju3/Y24Vg02jQbU0Us6q5EN+rcGueR/cxb
        dLyWwo4qFHhhKjiL20zi4XF+IDK70aNf3lllbLJSc6G+lwDCj+IqE77mLxkEjLt+
        yIFOD7lSkMv0TYxFNxLuFzMCkhokYaaIopAnM3DDRKU2EDfb6o/nAc+hFq0tfKgB
        b43DmYliAi8V/HFqrIk3JDXXI+/0jcpClQIDAQAB
        -----END RSA PUBLIC KEY-----
        """
    static let modulus = "uWcTH53Vu_vbhvj5NUGxWskoP3kKBytdTD6KmgKPvRBuPRoCVep9Cfr-YE9vMK1a42lxKRfKdsJofBasabrKLOStZZTIyTIZG-8yT74ZZnpAt6iFsMO9_0rZOjUlB_IcPs3ASGb1zKA2dKVHSMju3_Y24Vg02jQbU0Us6q5EN-rcGueR_cxbdLyWwo4qFHhhKjiL20zi4XF-IDK70aNf3lllbLJSc6G-lwDCj-IqE77mLxkEjLt-yIFOD7lSkMv0TYxFNxLuFzMCkhokYaaIopAnM3DDRKU2EDfb6o_nAc-hFq0tfKgBb43DmYliAi8V_HFqrIk3JDXXI-_0jcpClQ"
    static let signingInput = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0In0"
    static let signature = "qqhXFCb0hT3lp1oo1Iv2GquJEJHDSi3QfoXzd2HipN0iTInMsSdb_xvvXmkcwM3-9PwaM3OAN7pndayTMY6mhIrBD6kiPpgVTmNNGR_kiPlikmmyI9bn4i9IFvsDlhmDNe5enNDR8k3fQ91Ss0oBrX2tckMn7uEb452VdJBTzXWye9V-mcYv1bJjDv-3JMvu8P4CC0jUYaCoKk6UrFt3G4TU1tHCl2WH0_NUxR5eUar92wE8fhTlcacZz8R5RdciCTLnynrAsEYzB4QwGJg3fHy7PA6rp2hguVwXeS7DuVP5f4B-HbOxFqc5aUNVMUq_a9rFxehlcz2zKX9DqX4ESQ"
    static let ecPublicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEugJ8jpOp6N31dd1yML1dAbPYUjcg
        JsAfPdh/vh8LG+1rRuYA1iz9eLw8X5UrIcNrIimGbiO3NV2+MNlyCkykPg==
        -----END PUBLIC KEY-----
        """

    /// Calls `gw.crypto.rsa_sha256_verify(<key expression>, data, signature)` with the fixtures.
    func verify(key: String, data: String = signingInput, signature: String = signature) throws -> String? {
        try lua("""
            local pem, pkcs1, ec = [[\(Self.publicKeyPEM)]], [[\(Self.pkcs1PEM)]], [[\(Self.ecPublicKeyPEM)]]
            local jwk = { kty = "RSA", n = "\(Self.modulus)", e = "AQAB" }
            return gw.crypto.rsa_sha256_verify(\(key), "\(data)", gw.base64.url_decode("\(signature)"))
            """)
    }

    @Test func rsaSHA256VerifiesWithPEMOrJWK() throws {
        #expect(try verify(key: "pem") == "true")
        #expect(try verify(key: "pkcs1") == "true")
        #expect(try verify(key: "jwk") == "true")
        #expect(try verify(key: "{ n = jwk.n, e = jwk.e }") == "true")
    }

    @Test func rsaSHA256RefusesABadSignature() throws {
        #expect(try verify(key: "pem", data: Self.signingInput + "x") == "false")
        #expect(try verify(key: "jwk", data: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0") == "false")
        let flipped = "A" + Self.signature.dropFirst()
        #expect(try verify(key: "pem", signature: String(flipped)) == "false")
        #expect(try verify(key: "pem", signature: "AAAA") == "false")  // wrong length
        #expect(try verify(key: "{ n = 'AQAB', e = 'AQAB' }") == "false")  // a toy modulus verifies nothing
    }

    @Test func malformedKeysRaiseCryptoErrors() {
        func message(_ key: String) -> String {
            let error = #expect(throws: LuaError.self) { try verify(key: key) }
            let message = error?.message ?? ""
            #expect(message.hasPrefix("eval:"), "\(message)")  // the script's line, then the reason
            return String(message.drop { $0 != " " }.dropFirst())
        }
        #expect(message("'not a key'") == "crypto: the key is not a PEM RSA public key")
        #expect(message("ec") == "crypto: the key is not a PEM RSA public key")
        #expect(message("{ e = 'AQAB' }").hasPrefix("crypto: the RSA key table has no base64url string 'n'"))
        #expect(message("{ n = 'a+b', e = 'AQAB' }") == "crypto: the RSA key's 'n' is not base64url")
        #expect(message("{ kty = 'EC', n = jwk.n, e = 'AQAB' }") == "crypto: the key is a 'EC' key, not RSA")
        #expect(message("42").hasPrefix("crypto: the RSA key must be a PEM string or a table"))
    }
}
