import ArgumentParser
import FoundationEssentials
import LuaRuntime
import Logging

/// Options shared by `serve` and `check`: where the scripts are and how the Lua VMs are limited.
struct ScriptOptions: ParsableArguments {
    @Option(name: .customLong("providers"), help: "Folder of provider scripts. (env: SWITCHBOARD_PROVIDERS, default: ./providers)")
    var providersFlag: String?

    @Option(name: .customLong("scripts"), help: "Folder of middleware and route scripts. (env: SWITCHBOARD_SCRIPTS, default: ./scripts)")
    var scriptsFlag: String?

    @Option(name: .customLong("lua-vms"), help: "Lua VMs in the pool. (env: SWITCHBOARD_LUA_VMS, default: 2 per core)")
    var vmsFlag: Int?

    @Option(name: .customLong("lua-memory-mb"), help: "Memory cap per Lua VM in MiB. (env: SWITCHBOARD_LUA_MEMORY_MB, default: 64)")
    var memoryFlag: Int?

    @Option(name: .customLong("lua-instruction-budget"), help: "Instructions one script call may run. (env: SWITCHBOARD_LUA_INSTRUCTION_BUDGET, default: 10000000)")
    var budgetFlag: Int?

    var providers: String { get throws { try setting(providersFlag, "SWITCHBOARD_PROVIDERS", "./providers") } }
    var scripts: String { get throws { try setting(scriptsFlag, "SWITCHBOARD_SCRIPTS", "./scripts") } }

    var vmCount: Int {
        get throws {
            try setting(vmsFlag, "SWITCHBOARD_LUA_VMS", 2 * ProcessInfo.processInfo.activeProcessorCount, range: 1...1024)
        }
    }

    var limits: LuaLimits {
        get throws {
            LuaLimits(
                memoryBytes: try setting(memoryFlag, "SWITCHBOARD_LUA_MEMORY_MB", 64, range: 1...65536) * 1024 * 1024,
                instructionBudget: try setting(budgetFlag, "SWITCHBOARD_LUA_INSTRUCTION_BUDGET", 10_000_000,
                                               range: 1000...Int.max))
        }
    }
}

/// Resolves a setting: flag, then environment variable, then default.
func setting(_ flag: String?, _ variable: String, _ fallback: String) throws -> String {
    if let flag { return flag }
    if let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty { return value }
    return fallback
}

/// Resolves an integer setting, naming the variable or flag when the value is out of range.
func setting(_ flag: Int?, _ variable: String, _ fallback: Int, range: ClosedRange<Int>) throws -> Int {
    let value: Int
    let source: String
    if let flag {
        value = flag
        source = "--" + variable.dropFirst("SWITCHBOARD_".count).lowercased().replacing("_", with: "-")
    } else if let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty {
        guard let parsed = Int(text) else {
            throw ValidationError("\(variable) must be a whole number, got '\(text)'")
        }
        value = parsed
        source = variable
    } else {
        return fallback
    }
    guard range.contains(value) else {
        throw ValidationError("\(source) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
    return value
}

/// Parses a log level name, naming the setting when it is not one.
func logLevel(_ text: String, source: String) throws -> Logger.Level {
    guard let level = Logger.Level(rawValue: text.lowercased()) else {
        let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        throw ValidationError("\(source) must be one of \(names), got '\(text)'")
    }
    return level
}
