import Foundation
import Testing

/// A lint: no new unchecked integer conversion in the gateway's sources.
///
/// `Int(someDouble)` traps on NaN, infinities and out-of-range values, and one such conversion of a
/// config number let any client crash the process. Untrusted numbers become integers through
/// `CheckedInteger` (or `Int(exactly:)`, `Int(clamping:)`, `Int(truncatingIfNeeded:)`); every other
/// `Int(` / `Int64(` / `UInt16(` … spelling in GatewayCore, GatewayServer and LuaRuntime must be
/// listed below with why it cannot trap. A new one fails this test: use the checked helper, or add
/// it here with its reason if it converts something that is not a number from outside.
@Suite struct NoTrappingConversionTests {
    static let modules = ["GatewayCore", "GatewayServer", "LuaRuntime"]
    /// The helper itself holds the few conversions it checks.
    static let exemptFiles: Set<String> = ["LuaRuntime/CheckedInteger.swift"]

    static let allowed: [(file: String, line: String)] = [
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "let total = Int(readUInt32(at: offset))"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "let headersLength = Int(readUInt32(at: offset + 4))"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "UInt32(pending[index]) << 24 | UInt32(pending[index + 1]) << 16 | UInt32(pending[index + 2]) << 8"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "| UInt32(pending[index + 3])"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "let nameLength = Int(bytes[index])"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "var c = UInt32(n)"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Streaming/AWSEventStreamDecoder.swift", "for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }"), // bytes and UInt32 fields widen to Int (64-bit): cannot trap
        ("GatewayCore/Egress/CustomHostPolicy.swift", "guard !part.isEmpty, part.count <= 3, part.allSatisfy(\\.isNumber), let v = Int(part), v <= 255 else {"), // text parsed by Int(String) (nil, not a trap) / bytes XOR widened
        ("GatewayCore/Egress/CustomHostPolicy.swift", "difference |= Int((index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0))"), // text parsed by Int(String) (nil, not a trap) / bytes XOR widened
        ("GatewayCore/Provider/ProviderCallStage.swift", "let deadline = options.timeoutMilliseconds.map { NIODeadline.now() + .milliseconds(Int64($0)) }"), // an Int already bounded to 86_400_000 by RequestOptions / RouteConfig
        ("GatewayCore/Egress/HostResolver.swift", "hints.ai_socktype = Int32(SOCK_STREAM.rawValue)"), // C constants
        ("GatewayCore/Egress/HostResolver.swift", "var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))"), // C constants
        ("GatewayCore/Egress/IPAddress.swift", "return .address(.v4(UInt32(bigEndian: strict.s_addr)))"), // byte-order swaps of a C in_addr: cannot trap
        ("GatewayCore/Egress/IPAddress.swift", "return .nonCanonicalIPv4(means: .v4(UInt32(bigEndian: lenient.s_addr)))"), // byte-order swaps of a C in_addr: cannot trap
        ("GatewayCore/Egress/IPAddress.swift", "self = .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))"), // byte-order swaps of a C in_addr: cannot trap
        ("GatewayCore/Egress/IPAddress.swift", "UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])"), // bytes widen
        ("GatewayCore/Egress/IPAddress.swift", "var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))"), // C constants
        ("GatewayCore/Pipeline/ClientLimits.swift", "let (owed, overflow) = seconds.multipliedReportingOverflow(by: Int64(bodyMinRate))"), // Int widens to Int64 (64-bit): cannot trap
        ("GatewayCore/Pipeline/ClientLimits.swift", "return Int64(max(0, received)) < owed"), // Int widens to Int64 (64-bit): cannot trap
        ("GatewayCore/Upstream/UpstreamConnectionHandler.swift", "let length = response.headers.first(name: \"content-length\").flatMap { Int($0) }"), // Int(String) parses (nil on overflow), not a trap
        ("GatewayCore/Observability/TraceID.swift", "let shift = UInt64(60 - 4 * nibble)"), // small constants and masked nibbles
        ("GatewayCore/Observability/TraceID.swift", "out[index] = digits.utf8Start[Int((word >> shift) & 0xF)]"), // small constants and masked nibbles
        ("GatewayCore/Errors/UpstreamErrorBody.swift", "return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)"), // guarded: whole and |value| < 1e15 (NaN fails the first test)
        ("GatewayCore/Errors/UpstreamErrorBody.swift", "case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)"), // guarded: whole and |value| < 1e15 (NaN fails the first test)
        ("GatewayCore/Cache/CacheKey.swift", "digest[at..<(at + 8)].reduce(0) { $0 << 8 | UInt64($1) }"), // bytes and counts widen
        ("GatewayCore/Cache/CacheKey.swift", "let count = UInt64(text.utf8.count)"), // bytes and counts widen
        ("GatewayCore/JSON/JSONTree.swift", "if case .number(let literal) = self { return Int(literal) }"), // Int(String) parses (nil on overflow); bytes and UTF-16 units widen
        ("GatewayCore/JSON/JSONTree.swift", "var value = UInt32(unit)"), // Int(String) parses (nil on overflow); bytes and UTF-16 units widen
        ("GatewayCore/JSON/JSONTree.swift", "value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)"), // Int(String) parses (nil on overflow); bytes and UTF-16 units widen
        ("GatewayCore/JSON/JSONTree.swift", "value = value << 4 | UInt16(digit)"), // Int(String) parses (nil on overflow); bytes and UTF-16 units widen
        ("GatewayCore/JSON/JSONTree.swift", "out.append(hexDigits[Int(byte >> 4)])"), // Int(String) parses (nil on overflow); bytes and UTF-16 units widen
        ("GatewayCore/JSON/JSONTree.swift", "out.append(hexDigits[Int(byte & 15)])"), // Int(String) parses (nil on overflow); bytes and UTF-16 units widen
        ("GatewayCore/Observability/RequestLog.swift", "bytes.append(Self.hex[Int(byte >> 4)])"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "bytes.append(Self.hex[Int(byte & 0xF)])"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "let micros = Int(value.components.seconds) * 1_000_000 + Int(value.components.attoseconds / 1_000_000_000_000)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "digits(Int(parts.tm_year) + 1900, width: 4)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "digits(Int(parts.tm_mon) + 1, width: 2)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "digits(Int(parts.tm_mday), width: 2)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "digits(Int(parts.tm_hour), width: 2)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "digits(Int(parts.tm_min), width: 2)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "digits(Int(parts.tm_sec), width: 2)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/RequestLog.swift", "digits(Int(spec.tv_nsec / 1_000_000), width: 3)"), // clock and calendar fields, bytes
        ("GatewayCore/Observability/UsageScanner.swift", "value = value * 10 + Int(bytes[index] - UInt8(ascii: \"0\"))"), // a byte known to be a digit
        ("GatewayCore/Upstream/UpstreamConnectionHandler.swift", "let head = UpstreamHead(status: Int(response.status.code), headers: response.headers)"), // NIO's UInt status code, at most 999 from the parser
        ("GatewayCore/Upstream/UpstreamRequest.swift", "guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }"), // Int(String) parses (nil, not a trap), then range-checked
        ("GatewayCore/Upstream/UpstreamRequest.swift", "guard let p = Int(authority[authority.utf8.index(after: colon)...]), (1...65535).contains(p) else { return nil }"), // Int(String) parses (nil, not a trap), then range-checked
        ("LuaRuntime/LuaVM.swift", "public var memoryUsed: Int { Int(sb_state(state).pointee.memory_used) }"), // Int64/size_t widen or narrow within range (budget is an operator setting)
        ("LuaRuntime/LuaVM.swift", "let status = sb_pcall(state, arguments, results, UInt64(limits.instructionBudget))"), // Int64/size_t widen or narrow within range (budget is an operator setting)
        ("LuaRuntime/LuaVM.swift", "return isNumber != 0 ? Int(value) : nil"), // Int64/size_t widen or narrow within range (budget is an operator setting)
        ("LuaRuntime/Middleware.swift", "lua_createtable(L, 0, Int32(headers.count))"), // header counts (bounded by the request head limit)
        ("LuaRuntime/Middleware.swift", "lua_createtable(L, 0, Int32(request.headers.count))"), // header counts (bounded by the request head limit)
        ("LuaRuntime/ProviderSession.swift", "lua_createtable(L, 0, Int32(headers.count))"), // header counts
        ("LuaRuntime/ScriptGeneration+Build.swift", "lua_createtable(L, 0, Int32(context.settings.count))"), // setting and fetched-image counts
        ("LuaRuntime/ScriptGeneration+Build.swift", "lua_createtable(L, 0, Int32(fetched.count))"), // setting and fetched-image counts
        ("LuaRuntime/ScriptedRoute.swift", "lua_createtable(L, 0, Int32(headers.count))"), // header counts / operator budget
        ("LuaRuntime/ScriptedRoute.swift", "let status = sb_resume(L, co, arguments, &results, UInt64(limits.instructionBudget))"), // header counts / operator budget
        ("LuaRuntime/Plugins.swift", "let status = sb_resume(L, co, arguments, &results, UInt64(limits.instructionBudget))"), // the operator's budget, validated ≥ 1000 by the settings
        ("LuaRuntime/LinearRegex.swift", "return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)"), // a monotonic clock reading: non-negative fields
        ("LuaRuntime/LinearRegex.swift", "case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)"), // UTF-8 decoding: masked bytes widen to UInt32
        ("LuaRuntime/LinearRegex.swift", "case 0xE0: length = 3; value = UInt32(lead & 0x0F); low = 0xA0"), // UTF-8 decoding: masked bytes widen to UInt32
        ("LuaRuntime/LinearRegex.swift", "case 0xE1...0xEC, 0xEE...0xEF: length = 3; value = UInt32(lead & 0x0F)"), // UTF-8 decoding: masked bytes widen to UInt32
        ("LuaRuntime/LinearRegex.swift", "case 0xED: length = 3; value = UInt32(lead & 0x0F); high = 0x9F"), // UTF-8 decoding: masked bytes widen to UInt32
        ("LuaRuntime/LinearRegex.swift", "case 0xF0: length = 4; value = UInt32(lead & 0x07); low = 0x90"), // UTF-8 decoding: masked bytes widen to UInt32
        ("LuaRuntime/LinearRegex.swift", "case 0xF1...0xF3: length = 4; value = UInt32(lead & 0x07)"), // UTF-8 decoding: masked bytes widen to UInt32
        ("LuaRuntime/LinearRegex.swift", "case 0xF4: length = 4; value = UInt32(lead & 0x07); high = 0x8F"), // UTF-8 decoding: masked bytes widen to UInt32
        ("LuaRuntime/LinearRegex.swift", "value = value << 6 | UInt32(byte & 0x3F)"), // UTF-8 decoding: masked bytes widen to UInt32
    ]

    /// A conversion spelled as an initializer call, minus the non-trapping labelled forms.
    nonisolated(unsafe) static let conversion = #/(?:^|[^A-Za-z0-9_.])(?:Int|Int8|Int16|Int32|Int64|UInt|UInt16|UInt32|UInt64)\((?!exactly:|clamping:|truncatingIfNeeded:|bitPattern:)/#

    static func flagged(_ line: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("//") { return false }
        return trimmed.contains(conversion)
    }

    /// The scanner itself: it must flag the spelling that crashed the gateway, and only that.
    @Test func scannerFlagsTrappingSpellings() {
        #expect(Self.flagged("                attempts = min(Int(number), Retry.maximumAttempts)"))
        #expect(Self.flagged("return min(.milliseconds(Int64(seconds * 1000)), cap)"))
        #expect(Self.flagged("let port = UInt16(value)"))
        #expect(!Self.flagged("guard let n = Int(exactly: value) else { return nil }"))
        #expect(!Self.flagged("let n = Int(truncatingIfNeeded: x)"))
        #expect(!Self.flagged("let n = CheckedInteger.exact(value, in: 0...5)"))
        #expect(!Self.flagged("// Int(number) in a comment"))
        #expect(!Self.flagged("let text = String(value); let big = BigInt(3)"))
    }

    @Test func noUncheckedIntegerConversionInSources() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        var remaining = Self.allowed.map { "\($0.file)|\($0.line)" }
        var unexpected: [String] = []
        var scanned = 0
        for module in Self.modules {
            let root = sources.appendingPathComponent(module)
            let enumerator = FileManager.default.enumerator(atPath: root.path)
            while let relative = enumerator?.nextObject() as? String {
                guard relative.hasSuffix(".swift") else { continue }
                let file = "\(module)/\(relative)"
                if Self.exemptFiles.contains(file) { continue }
                let text = try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
                scanned += 1
                for line in text.split(separator: "\n", omittingEmptySubsequences: false) where Self.flagged(String(line)) {
                    let key = "\(file)|\(line.trimmingCharacters(in: .whitespaces))"
                    if let index = remaining.firstIndex(of: key) {
                        remaining.remove(at: index)
                    } else {
                        unexpected.append(key)
                    }
                }
            }
        }
        #expect(scanned > 50, "the scan found the sources")
        #expect(unexpected.isEmpty, """
            unchecked integer conversions (use CheckedInteger / Int(exactly:), or allow-list with a reason):
            \(unexpected.joined(separator: "\n"))
            """)
    }
}
