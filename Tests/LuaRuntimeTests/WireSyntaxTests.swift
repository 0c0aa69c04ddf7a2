import Foundation
import Testing
@testable import LuaRuntime

/// The one validator for what goes onto the wire, and the checked integer conversions.
@Suite struct WireSyntaxTests {
    @Test func headerNamesAreTokens() {
        for name in ["content-type", "X-Portkey-Trace-Id", "a", "!#$%&'*+-.^_`|~09AZaz"] {
            #expect(WireSyntax.headerNameProblem(name) == nil, "\(name)")
        }
        for name in ["", "a b", "a:b", "a\r\nb", "x-\u{0}", "é", "a\"b", "(a)", "a\tb"] {
            #expect(WireSyntax.headerNameProblem(name) != nil, "\(name.debugDescription)")
        }
    }

    @Test func headerValuesCarryNoLineBreaks() {
        for value in ["", "text/event-stream", "a\tb", "café ☕", "Bearer sk-123", "\u{7E}"] {
            #expect(WireSyntax.headerValueProblem(value) == nil, "\(value)")
        }
        #expect(WireSyntax.headerValueProblem("x\r\nSet-Cookie: a=b") == "a header value contains a carriage return (CR)")
        #expect(WireSyntax.headerValueProblem("x\nSet-Cookie: a=b") == "a header value contains a line feed (LF)")
        #expect(WireSyntax.headerValueProblem("x\u{0}") == "a header value contains a NUL byte")
        #expect(WireSyntax.headerValueProblem("x\u{1B}[31m") == "a header value contains the byte 0x1B")
        #expect(WireSyntax.headerValueProblem("x\u{7F}") != nil)
        #expect(WireSyntax.headersProblem([("ok", "1"), ("x-bad", "a\rb")]) == "header 'x-bad': a header value contains a carriage return (CR)")
        #expect(WireSyntax.headersProblem([("ok", "1"), ("bad name", "a")]) != nil)
    }

    @Test func methodsTargetsAndStatuses() {
        #expect(WireSyntax.methodProblem("POST") == nil)
        #expect(WireSyntax.methodProblem("GET /evil HTTP/1.1\r\n") != nil)
        #expect(WireSyntax.methodProblem("") != nil)
        #expect(WireSyntax.targetProblem("https://api.example.com/v1/chat?x=1%20y") == nil)
        #expect(WireSyntax.targetProblem("/v1/é") == nil)
        for target in ["/v1\r\nX-Smuggled: 1", "/a b", "/a\u{0}", "/a\u{7F}", "/a\tb", "http://h\n/"] {
            #expect(WireSyntax.targetProblem(target) != nil, "\(target.debugDescription)")
        }
        for status in [100, 200, 446, 599] { #expect(WireSyntax.statusProblem(status) == nil) }
        for status in [-7, 0, 99, 600, 1000, 70000, Int.min, Int.max] { #expect(WireSyntax.statusProblem(status) != nil) }
    }

    @Test func sseFields() {
        #expect(WireSyntax.sseFieldProblem(#"{"a":"b\nc"}"#, field: "data") == nil)  // an escaped newline is fine
        #expect(WireSyntax.sseFieldProblem("x\n\ndata: injected", field: "data") != nil)
        #expect(WireSyntax.sseFieldProblem(Array("a\rb".utf8), field: "data") != nil)
        #expect(WireSyntax.sseFieldProblem("message_start", field: "name") == nil)
        #expect(WireSyntax.sseFieldProblem("x\ndata: y", field: "name") == "an event's name contains a line feed (LF)")
    }

    @Test func checkedIntegers() {
        #expect(CheckedInteger.exact(3, in: 0...5) == 3)
        for value in [1e300, -1e300, .infinity, -.infinity, .nan, 2.5, 6, -1, Double(Int.max), 9.3e18] {
            #expect(CheckedInteger.exact(value, in: 0...5) == nil, "\(value)")
        }
        #expect(CheckedInteger.exact(0x1p62, in: 0...Int.max) == 1 << 62)
        #expect(CheckedInteger.exact(Double(Int.max), in: 0...Int.max) == nil)  // 2^63: one past Int.max
        #expect(CheckedInteger.clamped(1e300, to: 0...30_000) == 30_000)
        #expect(CheckedInteger.clamped(.infinity, to: 0...30_000) == 30_000)
        #expect(CheckedInteger.clamped(-.infinity, to: 0...30_000) == 0)
        #expect(CheckedInteger.clamped(.nan, to: 0...30_000) == nil)
        #expect(CheckedInteger.clamped(1500.9, to: 0...30_000) == 1500)
        #expect(CheckedInteger.clamped(1e300, to: Int.min...Int.max) == Int.max)
        #expect(CheckedInteger.parse("1500", in: 1...86_400_000) == 1500)
        for text in ["9223372036854775808", "86400001", "0", "1e3", "", " 5", "0x10"] {
            #expect(CheckedInteger.parse(text, in: 1...86_400_000) == nil, "\(text)")
        }
        #expect(CheckedInteger.httpStatus(404) == 404)
        #expect(CheckedInteger.httpStatus(70000) == nil)
    }

    /// The validator's cost on a typical response head and upstream request (printed, not asserted).
    @Test func validatorCost() {
        let headers: [(String, String)] = [
            ("content-type", "application/json"), ("authorization", "Bearer sk-proj-0123456789abcdefghijklmnopqrstuvwxyz"),
            ("x-portkey-provider", "openai"), ("x-portkey-trace-id", "7f3a9c2e-1b4d-4e8f-9a6b-2c5d8e1f4a7b"),
            ("accept", "application/json"), ("user-agent", "OpenAI/Python 1.54.0"), ("x-request-id", "req_01HZY3"),
            ("openai-organization", "org-abc123"),
        ]
        let target = "https://api.openai.com/v1/chat/completions"
        let rounds = 200_000
        var failures = 0
        let start = ContinuousClock.now
        for _ in 0..<rounds {
            if WireSyntax.headersProblem(headers) != nil { failures += 1 }
            if WireSyntax.targetProblem(target) != nil { failures += 1 }
            if WireSyntax.methodProblem("POST") != nil { failures += 1 }
        }
        let elapsed = ContinuousClock.now - start
        let nanoseconds = Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
        print("WireSyntax: \(Int(nanoseconds / Double(rounds))) ns per request head (8 headers, URL, method; \(rounds) rounds)")
        #expect(failures == 0)
    }
}
