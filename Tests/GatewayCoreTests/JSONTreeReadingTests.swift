import Testing
@testable import GatewayCore

/// The one JSON tree type read the ways configs, conditions, virtual keys and upstream errors read
/// it: numbers by value, objects by name, text as written.
@Suite struct JSONTreeReadingTests {
    func tree(_ text: String) throws -> JSONTree { try #require(JSONTree.parse(Array(text.utf8))) }

    @Test func conditionsCompareNumbersByValueAndObjectsWhateverTheirOrder() throws {
        #expect(ConditionQuery.compare("$eq", try tree("1"), try tree("1.0")))
        #expect(ConditionQuery.compare("$eq", try tree("1e2"), try tree("100")))
        #expect(!ConditionQuery.compare("$eq", try tree("1"), try tree("\"1\"")))
        #expect(ConditionQuery.compare("$eq", try tree(#"{"a":1,"b":[true,null]}"#), try tree(#"{"b":[true,null],"a":1.0}"#)))
        #expect(!ConditionQuery.compare("$eq", try tree(#"{"a":1}"#), try tree(#"{"a":1,"b":2}"#)))
        #expect(ConditionQuery.compare("$in", try tree("2"), try tree("[1, 2.0, 3]")))
        // Numbers too large for Int still compare (the JSON decoder used before refused 1e400 outright).
        #expect(ConditionQuery.compare("$gt", try tree("1e400"), try tree("1e300")))
    }

    @Test func fieldsLetTheLastOfEqualNamesWinAsSubscriptsDo() throws {
        let value = try tree(#"{"k":"first","k":"second","n":12.50}"#)
        #expect(value.fields?["k"] == "second" && value["k"] == "second")
        #expect(value["n"]?.double == 12.5)
        #expect(value["n"]?.text == "12.50")  // as written, not re-spelt through a Double
        #expect(value.jsonText == #"{"k":"first","k":"second","n":12.50}"#)
        #expect(try tree("[1,\"a\",null]").text == "[1, a]")
    }

    @Test func configNumbersOutsideEveryRangeAreRefusedNotTrapped() {
        #expect(throws: GatewayError.self) {
            try RouteConfig.parse(#"{"provider":"openai","request_timeout":1e400}"#, knownProviders: ["openai"])
        }
    }
}
