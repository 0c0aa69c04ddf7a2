import BenchSupport
import Foundation
import Logging
import LuaRuntime

/// The JSON codec on one realistic request body: our C codec driven from Lua, our validating scan
/// driven from Swift, and Foundation's `JSONSerialization` on the same bytes as the yardstick.
///
/// The Lua side loops inside a single `vm.evaluate` call, so the numbers are the codec's own cost
/// (plus one Lua→C call per iteration, which is what a script pays too) and not the Swift↔Lua
/// crossing of `evaluate`, which runs once per repetition.
struct CodecBenchmarks {
    let document: [UInt8]
    private let vm: LuaVM

    init(document: [UInt8], logger: Logger) throws {
        self.document = document
        // A huge instruction budget: one repetition runs thousands of iterations in one call.
        vm = try LuaVM(limits: LuaLimits(instructionBudget: 1 << 40, timeLimitMilliseconds: 0), logger: logger)
        try loadDocument()
        _ = try vm.evaluate(Self.luaHarness, chunkName: "microbench")
        try verify()
    }

    func run(_ sampler: Sampler, progress: (String) -> Void) throws -> [BenchmarkResult] {
        let size = document.count
        let data = Data(document)
        let foundationObject = try JSONSerialization.jsonObject(with: data)
        var results: [BenchmarkResult] = []

        func add(_ id: String, _ label: String, bytes: Int?, baseline: String?, _ run: (Int) throws -> Void) rethrows {
            progress(label)
            let sample = try sampler.measure(run)
            results.append(BenchmarkResult(id: id, label: label, bytes: bytes, baseline: baseline, sample: sample))
        }

        try add("lua_json_decode", "gw.json.decode (C codec, JSON → Lua table)", bytes: size,
                baseline: "foundation_decode") { n in try luaLoop("bench_decode", n) }
        try add("lua_json_encode", "gw.json.encode (C codec, Lua table → JSON)", bytes: size,
                baseline: "foundation_encode") { n in try luaLoop("bench_encode", n) }
        try add("json_scan", "JSONScan.scan (validate only, from Swift)", bytes: size,
                baseline: "foundation_decode") { n in
            for _ in 0..<n { _ = try JSONScan.scan(document) }
        }
        try add("foundation_decode", "JSONSerialization.jsonObject", bytes: size, baseline: nil) { n in
            for _ in 0..<n { _ = try JSONSerialization.jsonObject(with: data) }
        }
        try add("foundation_encode", "JSONSerialization.data(withJSONObject:)", bytes: size, baseline: nil) { n in
            for _ in 0..<n { _ = try JSONSerialization.data(withJSONObject: foundationObject) }
        }
        return results
    }

    private func luaLoop(_ function: String, _ iterations: Int) throws {
        _ = try vm.evaluate("\(function)(\(iterations))", chunkName: "microbench")
    }

    /// Puts the document in the Lua global `BODY` as a long-bracket literal, which Lua copies
    /// byte for byte (no escapes are interpreted; the compact JSON has no raw line breaks to normalise).
    private func loadDocument() throws {
        let text = String(decoding: document, as: UTF8.self)
        var level = ""
        while text.contains("]" + level + "]") { level += "=" }
        _ = try vm.evaluate("BODY = [\(level)[\(text)]\(level)]", chunkName: "microbench-body")
    }

    /// Refuses to time anything unless every path does the full job on this document.
    private func verify() throws {
        let text = String(decoding: document, as: UTF8.self)
        guard try vm.evaluate("return BODY") == text else {
            throw BenchmarkError("the document did not reach Lua byte for byte")
        }
        let reference = try Self.canonical(Data(document))
        guard let reencoded = try vm.evaluate("return gw.json.encode(DECODED)"),
              try Self.canonical(Data(reencoded.utf8)) == reference else {
            throw BenchmarkError("gw.json.encode(gw.json.decode(body)) differs from the document")
        }
        let scan = try JSONScan.scan(document)
        guard scan.isObject, scan.model == ChatRequestFixture.model, scan.stream == true else {
            throw BenchmarkError("JSONScan.scan missed the top-level model or stream")
        }
    }

    /// JSON with sorted keys, for comparing two documents regardless of member order.
    private static func canonical(_ data: Data) throws -> Data {
        try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: data), options: [.sortedKeys])
    }

    /// The loops run inside Lua; `DECODED` is the table the encoder is timed on.
    private static let luaHarness = """
        local decode, encode = gw.json.decode, gw.json.encode
        DECODED = decode(BODY)
        function bench_decode(n) local s = BODY for _ = 1, n do decode(s) end end
        function bench_encode(n) local t = DECODED for _ = 1, n do encode(t) end end
        """
}

/// A benchmark whose preconditions failed; nothing is reported rather than a misleading number.
struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
