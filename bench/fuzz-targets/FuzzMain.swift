// libFuzzer entry points for the Swift targets (sse, eventstream, head, config, jsonscan).
// bench/fuzz compiles this file with Tests/GatewayCoreTests/FuzzInvariants.swift (the checks) and
// instrumented copies of GatewayCore and GatewayServer into one binary; FUZZ_TARGET picks the
// target. A violated invariant prints what broke and aborts: libFuzzer saves the input as a crash.
import GatewayCore
import NIOHTTP1
@testable import GatewayServer

#if canImport(Glibc)
import Glibc
#endif

/// Writes a line to standard error (the C `stderr` global is not concurrency-safe in Swift 6).
func report(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

nonisolated(unsafe) var selected: (@Sendable ([UInt8]) throws(FuzzViolation) -> Void)?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzInvariants.targets.first(where: { $0.name == name }) else {
        report("FUZZ_TARGET must be one of: \(FuzzInvariants.targets.map(\.name).joined(separator: ", ")) (got '\(name)')")
        exit(2)
    }
    selected = target.check
    if name == "head" {
        // What the listener does with a head before the gateway sees it: route by method and path.
        FuzzInvariants.headHook = { head in
            switch Route.resolve(method: head.method, uri: head.uri) {
            case .gateway(_, let path, let query):
                let slash = path.first == "/"
                if !slash || query.contains("?") && !head.uri.contains("?") {
                    report("route: path '\(path)' query '\(query)' from '\(head.uri)'")
                    abort()
                }
            default:
                break
            }
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try selected?(input)
    } catch {
        report("invariant violated: \(error.description)")
        abort()
    }
    return 0
}
