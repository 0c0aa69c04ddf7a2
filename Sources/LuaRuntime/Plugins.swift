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

extension ScriptGeneration {
    /// Runs one hook object through the runner `require("hooks").run(hook, parts)` in one VM and
    /// returns its result as JSON (see plugins/README.md). `hook` and `parts` are JSON objects.
    public func runHook(_ hook: [UInt8], parts: [UInt8]) throws(LuaError) -> [UInt8] {
        try pool.withVM { vm throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            let script = "plugins/lib/hooks.lua"
            try vm.pushModuleFunction("hooks", "run", script: script)
            try vm.decodeJSON(hook, script: script)
            try vm.decodeJSON(parts, script: script)
            try vm.call(arguments: 2, results: 1, script: script)
            guard sb_istable(L, -1) != 0 else {
                throw LuaError(kind: .runtime, script: script, message: "\(script): run(hook, ctx) must return a table")
            }
            return try vm.encodeJSON(at: -1, script: script)
        }
    }
}

extension LuaVM {
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
