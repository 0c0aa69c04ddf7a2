import CLuaShim

/// What a guardrail check plugin declares (read when a generation loads): `plugins/acme/noSecrets.lua`
/// is the check `acme.noSecrets`. See plugins/README.md for the contract.
public struct PluginInfo: Sendable, Equatable {
    /// A declared parameter's JSON type.
    public enum ParameterType: String, Sendable {
        case string, number, integer, boolean, array, object, any
    }

    public struct Parameter: Sendable, Equatable {
        public var type: ParameterType
        public var optional: Bool
        public init(type: ParameterType, optional: Bool) {
            self.type = type
            self.optional = optional
        }
    }

    public var id: String
    public var file: String
    public var description: String?
    /// `beforeRequestHook` and/or `afterRequestHook`.
    public var events: Set<String>
    /// The parameters it takes, nil when it does not declare them (then any are accepted).
    public var parameters: [String: Parameter]?

    public static let events: Set<String> = ["beforeRequestHook", "afterRequestHook"]

    public init(id: String, file: String, description: String? = nil, events: Set<String>, parameters: [String: Parameter]?) {
        self.id = id
        self.file = file
        self.description = description
        self.events = events
        self.parameters = parameters
    }
}

/// The Lua global table that holds every plugin's table by id (`gw.plugins["default.contains"]`).
let pluginsField = "plugins"

/// One run of a hook through the runner (`require("hooks").run(hook, parts)`), as a coroutine kept
/// in one VM: a check that calls `gw.fetch` (the webhook check) yields the call for the host to
/// perform without blocking a thread, and ``resume(with:)`` continues it with the result.
public final class HookScriptRun: Sendable {
    public enum Step: Sendable {
        /// A check asks for a call: `kind` is "fetch" (or "route"), `request` its JSON.
        case call(kind: String, request: [UInt8])
        /// The runner returned its result (JSON).
        case done([UInt8])
    }

    static let file = "plugins/lib/hooks.lua"
    private let pinned: RegistryRef

    init(pool: LuaPool, vmIndex: Int, threadRef: Int32) {
        self.pinned = RegistryRef(pool: pool, vmIndex: vmIndex, ref: threadRef)
    }

    /// Starts the runner on one hook object and its context parts (both JSON objects).
    public static func start(_ generation: ScriptGeneration, hook: [UInt8], parts: [UInt8]) throws(LuaError) -> (HookScriptRun, Step) {
        let (ref, index, step) = try generation.pool.withAnyVM { vm, index throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            guard let co = lua_newthread(L) else { throw LuaError(kind: .memory, script: file, message: "no coroutine") }
            lua_pushvalue(L, -1)
            let ref = luaL_ref(L, sb_registryindex())
            do throws(LuaError) {
                try vm.pushModuleFunction("hooks", "run", script: file)
                try vm.decodeJSON(hook, script: file)
                try vm.decodeJSON(parts, script: file)
                lua_xmove(L, co, 3)
                let step = try vm.resumeHook(co, arguments: 2)
                return (ref, index, step)
            } catch {
                luaL_unref(L, sb_registryindex(), ref)
                throw error
            }
        }
        return (HookScriptRun(pool: generation.pool, vmIndex: index, threadRef: ref), step)
    }

    /// Continues the runner with the result of its call (JSON).
    public func resume(with result: [UInt8]) throws(LuaError) -> Step {
        try pinned.resumeCoroutine(with: result, script: Self.file) { vm, co throws(LuaError) in
            try vm.resumeHook(co, arguments: 1)
        }
    }
}

extension LuaVM {
    /// Resumes a hook coroutine and reads what it yielded (a call) or returned (its result table).
    fileprivate func resumeHook(_ co: OpaquePointer, arguments: Int32) throws(LuaError) -> HookScriptRun.Step {
        let L = state
        let file = HookScriptRun.file
        var results: Int32 = 0
        let status = sb_resume(L, co, arguments, &results, UInt64(limits.instructionBudget))
        switch status {
        case LUA_YIELD:
            let call = try yieldedCall(co, results: results, script: file, who: "a check")
            return .call(kind: call.kind, request: call.request)
        case LUA_OK:
            guard results >= 1 else {
                throw LuaError(kind: .runtime, script: file, message: "\(file): run(hook, ctx) returned nothing")
            }
            lua_settop(co, 1)
            lua_xmove(co, L, 1)
            defer { sb_pop(L, 1) }
            guard sb_istable(L, -1) != 0 else {
                throw LuaError(kind: .runtime, script: file, message: "\(file): run(hook, ctx) must return a table")
            }
            return .done(try encodeJSON(at: -1, script: file))
        default:
            lua_xmove(co, L, 1)
            throw popError(status: status, script: file)
        }
    }

    /// Reads the plugin table on top of the stack (it stays there).
    func pluginInfo(_ file: ScriptSources.File) throws(LuaError) -> PluginInfo {
        let L = state
        func refuse(_ problem: String) -> LuaError {
            LuaError(kind: .invalidScript, script: file.displayPath, message: "\(file.displayPath): \(problem)")
        }
        guard hasFunction(-1, "check") else { throw refuse("the plugin table has no check(ctx, params, event) function") }
        var events = PluginInfo.events
        if let list = stringList(-1, "events") {
            events = Set(list)
            if let unknown = events.subtracting(PluginInfo.events).sorted().first {
                throw refuse("events: unknown event '\(unknown)' (beforeRequestHook, afterRequestHook)")
            }
        }
        var parameters: [String: PluginInfo.Parameter]?
        if sb_rawgetfield(L, -1, "parameters") == LUA_TTABLE {
            var declared: [String: PluginInfo.Parameter] = [:]
            for (name, spec) in stringMap(at: -1) {
                let optional = spec.hasSuffix("?")
                guard let type = PluginInfo.ParameterType(rawValue: optional ? String(spec.dropLast()) : spec) else {
                    sb_pop(L, 1)
                    throw refuse("parameters.\(name): unknown type '\(spec)' (string, number, integer, boolean, array, object, any; '?' when optional)")
                }
                declared[name] = .init(type: type, optional: optional)
            }
            parameters = declared
        }
        sb_pop(L, 1)
        return PluginInfo(id: file.name, file: file.displayPath, description: field(-1, "description"), events: events,
                          parameters: parameters)
    }
}
