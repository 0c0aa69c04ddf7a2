import CLuaShim
public import Logging

/// One Lua state with the sandbox, memory cap and host API installed.
///
/// A `LuaVM` is not thread-safe: it is only ever touched by the thread holding its pool slot's lock
/// (see ``LuaPool``), which is why it is `@unchecked Sendable`.
public final class LuaVM: @unchecked Sendable {
    /// The raw state; valid for the VM's lifetime.
    let state: OpaquePointer
    let limits: LuaLimits
    private let logSink: Unmanaged<LogSink>
    private let store: Unmanaged<ScriptStore>?
    /// Compiled patterns of `gw.regex` (RegexHost.swift).
    private let regexCache: Unmanaged<RegexCache>

    /// `store` backs the scripts' `gw.store` (one shared by every VM of the gateway); without one,
    /// `gw.store` calls fail with a message saying so.
    public init(limits: LuaLimits, logger: Logger, store: ScriptStore? = nil) throws(LuaError) {
        let sink = Unmanaged.passRetained(LogSink(logger: logger))
        guard let state = sb_newstate(limits.memoryBytes, luaLogBridge, sink.toOpaque()) else {
            sink.release()
            throw LuaError(kind: .memory, message: "could not create a Lua state")
        }
        self.state = state
        self.limits = limits
        self.logSink = sink
        self.store = store.map { Unmanaged.passRetained($0) }
        self.regexCache = Unmanaged.passRetained(RegexCache())
        if let retained = self.store { retained.takeUnretainedValue().install(on: state, retained: retained) }
        regexCache.takeUnretainedValue().install(on: state, retained: regexCache)
        sb_set_limits(state, UInt64(clamping: limits.timeLimitMilliseconds), max(0, limits.maxStringBytes))
    }

    deinit {
        sb_close(state)
        logSink.release()
        store?.release()
        regexCache.release()
    }

    /// Bytes currently allocated by this VM.
    public var memoryUsed: Int { Int(sb_state(state).pointee.memory_used) }

    /// For tests: the stock `string.find/match/gmatch/gsub` as the global `stock_patterns`.
    func exposeStockPatternsForTesting() { sb_expose_stock_patterns(state) }

    /// Registers a library source for the sandboxed `require`.
    func registerLibrary(name: String, source: String, chunkName: String) {
        var source = source
        source.withUTF8 { bytes in
            sb_register_library(state, name, bytes.baseAddress, bytes.count, "@" + chunkName)  // "@": messages say file:line
        }
    }

    /// Loads and runs a chunk, leaving its single result on the stack.
    /// - Parameters:
    ///   - source: Lua text (binary chunks are refused).
    ///   - chunkName: shown in error messages, e.g. `providers/groq.lua`.
    func runChunk(source: String, chunkName: String) throws(LuaError) {
        var source = source
        let status = source.withUTF8 { bytes in
            sb_load(state, bytes.baseAddress, bytes.count, "@" + chunkName)
        }
        if status != LUA_OK {
            throw popError(status: status, script: chunkName)
        }
        try call(arguments: 0, results: 1, script: chunkName)
    }

    /// Calls the function below `arguments` values on the stack under the sandbox's limits.
    /// - Parameter timed: false only for the host's own JSON codec calls (see `sb_pcall_untimed`).
    func call(arguments: Int32, results: Int32, script: String, timed: Bool = true) throws(LuaError) {
        let budget = UInt64(clamping: limits.instructionBudget)
        let status = timed ? sb_pcall(state, arguments, results, budget) : sb_pcall_untimed(state, arguments, results, budget)
        if status != LUA_OK {
            throw popError(status: status, script: script)
        }
    }

    /// Turns the error value on top of the stack into a ``LuaError`` and pops it.
    func popError(status: Int32, script: String) -> LuaError {
        defer { sb_pop(state, 1) }
        let vmState = sb_state(state).pointee
        if vmState.time_exceeded != 0 {
            // The hook's message names file:line; an allocation refused at the deadline has none.
            let text = status == LUA_ERRMEM ? nil : stringValue(at: -1)
            return LuaError(kind: .budget, script: script,
                            message: text ?? "\(script): time limit of \(limits.timeLimitMilliseconds) ms exceeded (a call runs too long)")
        }
        if status == LUA_ERRMEM || vmState.memory_exceeded != 0 {
            return LuaError(
                kind: .memory, script: script,
                message: "\(script): memory limit of \(limits.memoryBytes / (1024 * 1024)) MiB exceeded")
        }
        if vmState.budget_exceeded != 0 {
            let text = stringValue(at: -1) ?? "instruction budget exceeded"
            return LuaError(kind: .budget, script: script, message: text)
        }
        if status == LUA_ERRSYNTAX {
            return LuaError(kind: .syntax, script: script, message: stringValue(at: -1) ?? "syntax error")
        }
        if sb_istable(state, -1) != 0 {
            // A structured error raised by a script: error({status = 400, message = "..."}).
            let message = field(-1, "message") ?? "error in \(script)"
            let status = integerField(-1, "status") ?? 500
            if let problem = WireSyntax.statusProblem(status) {  // it would reach the status line
                return LuaError(kind: .runtime, script: script, message: "\(script): error() raised a table whose \(problem): \(message)")
            }
            let type = field(-1, "type")
            let code = field(-1, "code")
            return LuaError(kind: .raised(status: status, type: type, code: code), script: script, message: message,
                            param: field(-1, "param"))
        }
        return LuaError(kind: .runtime, script: script, message: stringValue(at: -1) ?? "error object is not a string")
    }

    // MARK: Stack access (raw: never runs metamethods, so safe outside a protected call)

    func stringValue(at index: Int32) -> String? {
        guard sb_isstring_exact(state, index) != 0 else { return nil }
        var length = 0
        guard let pointer = sb_tolstring(state, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    /// Reads `table[key]` as a string (numbers are not converted).
    func field(_ table: Int32, _ key: String) -> String? {
        sb_rawgetfield(state, table, key)
        defer { sb_pop(state, 1) }
        return stringValue(at: -1)
    }

    func integerField(_ table: Int32, _ key: String) -> Int? {
        let type = sb_rawgetfield(state, table, key)
        defer { sb_pop(state, 1) }
        guard type == LUA_TNUMBER else { return nil }
        var isNumber: Int32 = 0
        let value = lua_tointegerx(state, -1, &isNumber)
        return isNumber != 0 ? Int(value) : nil
    }

    func booleanField(_ table: Int32, _ key: String) -> Bool? {
        let type = sb_rawgetfield(state, table, key)
        defer { sb_pop(state, 1) }
        guard type == LUA_TBOOLEAN else { return nil }
        return lua_toboolean(state, -1) != 0
    }

    /// Whether `table[key]` is a function.
    func hasFunction(_ table: Int32, _ key: String) -> Bool {
        let type = sb_rawgetfield(state, table, key)
        sb_pop(state, 1)
        return type == LUA_TFUNCTION
    }

    /// Reads `table[key]` as a list of strings.
    func stringList(_ table: Int32, _ key: String) -> [String]? {
        guard sb_rawgetfield(state, table, key) == LUA_TTABLE else {
            sb_pop(state, 1)
            return nil
        }
        defer { sb_pop(state, 1) }
        var result: [String] = []
        var index: lua_Integer = 1
        while lua_rawgeti(state, -1, index) == LUA_TSTRING {
            if let value = stringValue(at: -1) { result.append(value) }
            sb_pop(state, 1)
            index += 1
        }
        sb_pop(state, 1)
        return result
    }

    /// Reads a table of string keys to string values (other entries are skipped).
    func stringMap(at index: Int32) -> [(String, String)] {
        var result: [(String, String)] = []
        let table = lua_absindex(state, index)
        lua_pushnil(state)
        while lua_next(state, table) != 0 {
            if sb_isstring_exact(state, -2) != 0, let key = stringValue(at: -2) {
                if sb_isstring_exact(state, -1) != 0, let value = stringValue(at: -1) {
                    result.append((key, value))
                } else if lua_type(state, -1) == LUA_TNUMBER {
                    // lua_tolstring would convert the key in place and confuse lua_next; values are fine
                    lua_pushvalue(state, -1)
                    if let value = String(validatingCString: lua_tolstring(state, -1, nil)) {
                        result.append((key, value))
                    }
                    sb_pop(state, 1)
                }
            }
            sb_pop(state, 1)
        }
        return result
    }

    // MARK: Pushing

    func push(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            _ = lua_pushlstring(state, bytes.baseAddress, bytes.count)
        }
    }

    func push(_ string: String?) {
        if let string { push(string) } else { lua_pushnil(state) }
    }

    /// `table[key] = value` for a string value (nil leaves the field unset).
    func setField(_ key: String, _ value: String?, in table: Int32 = -2) {
        guard let value else { return }
        push(value)
        sb_rawsetfield(state, table, key)
    }
}

/// Memory and time limits applied to every VM and call.
public struct LuaLimits: Sendable {
    /// Cap on a VM's allocations, in bytes.
    public var memoryBytes: Int
    /// Instructions one call may execute before it fails.
    public var instructionBudget: Int
    /// Wall-clock time one call (or one resume of a scripted route) may take; 0 = no limit.
    public var timeLimitMilliseconds: Int
    /// Largest string one string or table function (`string.rep`, `string.format`,
    /// `table.concat`, `string.gsub`) may build; 0 = only the memory cap. Half the memory cap by default.
    public var maxStringBytes: Int

    public init(memoryBytes: Int = 64 * 1024 * 1024, instructionBudget: Int = 10_000_000,
                timeLimitMilliseconds: Int = 1000, maxStringBytes: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.instructionBudget = instructionBudget
        self.timeLimitMilliseconds = timeLimitMilliseconds
        self.maxStringBytes = maxStringBytes ?? memoryBytes / 2
    }
}

/// Routes `gw.log` from scripts into swift-log.
final class LogSink: @unchecked Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

private let luaLogBridge: sb_log_fn = { context, level, message, length in
    guard let context, let message else { return }
    let sink = Unmanaged<LogSink>.fromOpaque(context).takeUnretainedValue()
    let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
    let levelName = level.map { String(cString: $0) } ?? "info"
    let logLevel = Logger.Level(rawValue: levelName) ?? (levelName == "warn" ? .warning : .info)
    sink.logger.log(level: logLevel, "\(text)", metadata: ["source": "lua"])
}

extension LuaVM {
    /// The string keys of the table at `index` whose values are functions.
    func functionKeys(at index: Int32) -> [(String, Int32)] {
        let table = lua_absindex(state, index)
        var keys: [(String, Int32)] = []
        lua_pushnil(state)
        while lua_next(state, table) != 0 {
            if lua_type(state, -2) == LUA_TSTRING, lua_type(state, -1) == LUA_TFUNCTION, let key = stringValue(at: -2) {
                keys.append((key, 0))
            }
            sb_pop(state, 1)
        }
        return keys
    }
}
