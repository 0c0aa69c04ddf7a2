import Testing
import YAMLReader

/// A compact rendering of a tree (JSON-like, with types visible) so expectations read as text.
private func show(_ node: YAMLNode?) -> String {
    guard let node else { return "<empty>" }
    switch node.value {
    case .null: return "null"
    case .bool(let value): return "\(value)"
    case .int(let value): return "\(value)"
    case .double(let value): return "\(value)d"
    case .string(let value): return "'\(value)'"
    case .sequence(let items): return "[" + items.map(show).joined(separator: ",") + "]"
    case .mapping(let entries): return "{" + entries.map { "\($0.key):" + show($0.value) }.joined(separator: ",") + "}"
    }
}

private func read(_ text: String) throws -> String { show(try YAMLReader.read(text)) }

/// The error a text raises, or nil when it reads.
private func failure(_ text: String) -> YAMLError? {
    do {
        _ = try YAMLReader.read(text)
        return nil
    } catch {
        return error
    }
}

@Suite struct YAMLReaderTests {
    @Test func mapsListsAndNesting() throws {
        let text = """
            host: 0.0.0.0
            allow_hosts:
              - a.example
              - "b.example"
            virtual_keys:
              team: {provider: openai, api_key: sk-1}
            """
        #expect(try read(text) == "{host:'0.0.0.0',allow_hosts:['a.example','b.example'],virtual_keys:{team:{provider:'openai',api_key:'sk-1'}}}")
    }

    @Test func coreSchemaScalars() throws {
        #expect(try read("[null, Null, NULL, ~, ]") == "[null,null,null,null]")
        #expect(try read("a: \nb: ~") == "{a:null,b:null}")
        #expect(try read("[true, True, TRUE, false, False, FALSE]") == "[true,true,true,false,false,false]")
        #expect(try read("[0, 12, -7, +3, 0x1F, 0o17, 007]") == "[0,12,-7,3,31,15,7]")
        #expect(try read("[1.5, -0.25, .5, 5., 1e3, 2.5E-1, .inf, -.Inf]") == "[1.5d,-0.25d,0.5d,5.0d,1000.0d,0.25d,infd,-infd]")
        if case .double(let nan) = try YAMLReader.read(".nan")?.value { #expect(nan.isNaN) } else { Issue.record(".nan is not a float") }
        // YAML 1.1's booleans and sexagesimals are strings in 1.2; so are near-misses.
        #expect(try read("[yes, no, on, off, y, n, 1:30, 0x, 0o8, 1_000, +-1, ., e3, 1e]") ==
                "['yes','no','on','off','y','n','1:30','0x','0o8','1_000','+-1','.','e3','1e']")
        // An integer too large for Int is still a number.
        #expect(try read("99999999999999999999") == "1e+20d")
    }

    @Test func quotedScalarsStayStrings() throws {
        #expect(try read(#"['true', "null", '12', "1.5", '', "~"]"#) == "['true','null','12','1.5','','~']")
        let node = try #require(try YAMLReader.read(#"port: "8080""#)?["port"])
        #expect(node.value == .string("8080") && !node.isPlain)
        let plain = try #require(try YAMLReader.read("token: 0123")?["token"])
        #expect(plain.value == .int(123) && plain.isPlain && plain.text == "0123")
    }

    @Test func explicitTags() throws {
        #expect(try read("[!!str 12, !!int '12', !!float 1, !!bool 'true', !!null '', ! 12]") == "['12',12,1.0d,true,null,'12']")
        #expect(failure("!!int abc")?.message == "'abc' is not an integer (!!int)")
        #expect(failure("a: !custom x")?.message == "unsupported tag !custom")
        #expect(failure("!!set {a: null}")?.message.hasPrefix("unsupported tag") == true)
    }

    @Test func escapesAndBlockScalars() throws {
        #expect(try read(#"["tab\there", "\u00e9\/", 'it''s']"#) == "['tab\there','é/','it's']")
        #expect(try read("a: |\n  one\n  two\nb: >\n  folded\n  line\n") == "{a:'one\ntwo\n',b:'folded line\n'}")
    }

    @Test func jsonIsYAML() throws {
        let json = #"{"port": 8080, "metrics": false, "ratio": 0.5, "hosts": ["a", "b"], "none": null, "nested": {"k": []}}"#
        #expect(try read(json) == "{port:8080,metrics:false,ratio:0.5d,hosts:['a','b'],none:null,nested:{k:[]}}")
    }

    @Test func anchorsAliasesAndMergeKeys() throws {
        let text = """
            base: &base {provider: openai, api_key: sk-base}
            team: *base
            other:
              <<: *base
              api_key: sk-other
            """
        #expect(try read(text) == "{base:{provider:'openai',api_key:'sk-base'},team:{provider:'openai',api_key:'sk-base'},other:{api_key:'sk-other',provider:'openai'}}")
        #expect(try read("a: &x 1\nb: [*x, *x]\nc: {<<: [{p: 1}, {p: 2, q: 3}]}") == "{a:1,b:[1,1],c:{p:1,q:3}}")
        // A quoted '<<' is an ordinary key.
        #expect(try read("'<<': 1") == "{<<:1}")
        #expect(failure("a: *nowhere")?.description == "line 1, column 4: unknown alias *nowhere")
        #expect(failure("a: {<<: 1}")?.message == "a merge key (<<) takes a map or a list of maps, not a whole number")
    }

    @Test func aliasesCannotExplode() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<8 {
            let previous = "*a\(level - 1)"
            text += "a\(level): &a\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
        }
        #expect(failure(text)?.message.hasPrefix("the document expands to more than 100000 values") == true)
    }

    @Test func errorsSayLineAndColumn() throws {
        let error = try #require(failure("host: a\nport: [1, 2\nmetrics: true\n"))
        #expect(error.mark != nil && error.mark!.line >= 2)
        let indented = try #require(failure("a:\n  b: 1\n c: 2\n"))
        #expect(indented.mark == YAMLMark(line: 3, column: 2))
        let colon = try #require(failure("key: value: other\n"))
        #expect(colon.description == "line 1, column 11: mapping values are not allowed in this context")
        #expect(failure("a: 1\na: 2\n")?.description == "line 2, column 1: duplicate key 'a'")
        #expect(failure("a: [1\n")?.message.contains("flow sequence") == true)
        #expect(failure("? [a]\n: 1\n")?.message == "a key must be a plain value, not a list")
    }

    @Test func oneDocumentOnly() throws {
        #expect(failure("a: 1\n---\nb: 2\n")?.description == "line 2, column 1: a second document starts here; a settings file holds one document")
        #expect(try read("---\na: 1\n...\n") == "{a:1}")
        #expect(try read("") == "<empty>")
        #expect(try read("# only a comment\n") == "<empty>")
        #expect(try read("---\n") == "null")
    }

    @Test func marksAreOneBased() throws {
        let root = try #require(try YAMLReader.read("a: 1\nlist:\n  - x\n"))
        guard case .mapping(let entries) = root.value else { Issue.record("not a map"); return }
        #expect(entries[1].keyMark == YAMLMark(line: 2, column: 1))
        #expect(entries[1].value.mark == YAMLMark(line: 3, column: 3))
    }

    @Test func notUTF8() {
        let error = failure(String(decoding: [0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A], as: UTF8.self))
        // String(decoding:) repairs the bytes; raw bytes reach libyaml's reader check.
        #expect(error == nil)
        #expect(throws: YAMLError.self) { try YAMLReader.read([0x61, 0x3A, 0x20, 0xC3, 0x28, 0x0A]) }
    }
}
