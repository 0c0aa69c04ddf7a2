import CLuaShim

/// Reads the `endpoints` table of the provider table on top of the stack.
///
/// Two forms: a list of endpoint names (`{ "chat/completions", "models" }`), each served by
/// `prepare` and translated when the script has `response`/`stream`; or a table from endpoint to
/// mode (`{ ["chat/completions"] = "translate", messages = "native", ["*"] = "passthrough" }`).
/// `"*"` is every other `/v1` path, relayed untranslated: `"passthrough"` (URL and headers from
/// `auth(ctx)`) or `"native"` (`prepare(ctx)` builds it, seeing `ctx.endpoint == "passthrough"`).
/// Absent, it is the standard OpenAI endpoints. A name the gateway does not serve, an unknown mode,
/// or `passthrough` without an `auth(ctx)` function stops the load, naming the entry.
func endpointTable(_ vm: LuaVM, translates: Bool, hasAuth: Bool) -> Result<[String: EndpointMode], LuaTableProblem> {
    let L = vm.state
    let listed: EndpointMode = translates ? .translate : .native
    let type = sb_rawgetfield(L, -1, "endpoints")
    defer { sb_pop(L, 1) }
    if type == LUA_TNIL {
        return .success(Dictionary(uniqueKeysWithValues: ProviderInfo.standardEndpoints.map { ($0, listed) }))
    }
    guard type == LUA_TTABLE else { return .failure(.init("endpoints must be a table")) }
    var table: [String: EndpointMode] = [:]
    var problem: String?
    lua_pushnil(L)
    while lua_next(L, -2) != 0 {
        defer { sb_pop(L, 1) }
        guard problem == nil else { continue }
        let endpoint: String
        let mode: EndpointMode
        if lua_type(L, -2) == LUA_TNUMBER, let name = vm.stringValue(at: -1) {
            endpoint = name
            mode = listed
        } else if sb_isstring_exact(L, -2) != 0, let name = vm.stringValue(at: -2) {
            guard let text = vm.stringValue(at: -1), let parsed = EndpointMode(rawValue: text) else {
                problem = "endpoints[\"\(name)\"] must be \"native\", \"translate\" or \"passthrough\""
                continue
            }
            endpoint = name
            mode = parsed
        } else {
            problem = "endpoints must list endpoint names or map them to a mode"
            continue
        }
        if !ProviderInfo.knownEndpoints.contains(endpoint) {
            problem = "endpoints names \"\(endpoint)\", which is not an endpoint the gateway serves (known: "
                + ProviderInfo.knownEndpoints.sorted().joined(separator: ", ") + ")"
        } else if endpoint == "*" && mode == .translate {
            problem = "endpoints[\"*\"] (every other /v1 path) is relayed untranslated: \"passthrough\", or \"native\" when prepare(ctx) builds the URL"
        } else if mode == .passthrough && !hasAuth {
            problem = "endpoints[\"\(endpoint)\"] is \"passthrough\", which needs an auth(ctx) function returning the base URL and headers"
        } else if mode == .translate && !translates {
            problem = "endpoints[\"\(endpoint)\"] is \"translate\", but the script has no response(ctx, res) or stream(ctx, event)"
        } else {
            table[endpoint] = mode
        }
    }
    if let problem { return .failure(.init(problem)) }
    return .success(table)
}

/// A problem with a declaration in a script's table, worded for the load error.
struct LuaTableProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

extension LuaVM {
    /// Requires a converter module and reads its declared direction.
    func converterInfo(_ library: ScriptSources.File) throws(LuaError) -> ConverterInfo {
        let L = state
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        lua_getglobal(L, "require")
        push(library.name)
        try call(arguments: 1, results: 1, script: library.displayPath)
        guard sb_istable(L, -1) != 0, let from = field(-1, "from"), let to = field(-1, "to") else {
            throw LuaError(kind: .invalidScript, script: library.displayPath,
                           message: "\(library.displayPath): a converter (a providers/lib module named a_to_b) must return a table with string fields from and to")
        }
        // One the host chains (to a client endpoint) must have the three hooks it calls; a
        // provider-side converter (to the provider's own dialect) is called by its provider script.
        for hook in ["request", "response", "stream"] where ProviderInfo.knownEndpoints.contains(to) && !hasFunction(-1, hook) {
            throw LuaError(kind: .invalidScript, script: library.displayPath,
                           message: "\(library.displayPath): a converter must have \(hook)(…)")
        }
        let params: [String: String]?
        switch converterParams(self) {
        case .success(let table): params = table
        case .failure(let problem):
            throw LuaError(kind: .invalidScript, script: library.displayPath, message: "\(library.displayPath): \(problem.message)")
        }
        return ConverterInfo(module: library.name, from: from, to: to, file: library.displayPath, params: params)
    }
}

/// Reads the optional `params` table of the converter table on top of the stack: field name to
/// `"mapped"`, `"refused"` or `"dropped: <reason>"`. Absent is `nil`; any other value stops the
/// load, naming the field.
func converterParams(_ vm: LuaVM) -> Result<[String: String]?, LuaTableProblem> {
    let L = vm.state
    let type = sb_rawgetfield(L, -1, "params")
    defer { sb_pop(L, 1) }
    if type == LUA_TNIL { return .success(nil) }
    guard type == LUA_TTABLE else { return .failure(.init("params must be a table of field name to \"mapped\", \"refused\" or \"dropped: <reason>\"")) }
    var table: [String: String] = [:]
    var problem: String?
    lua_pushnil(L)
    while lua_next(L, -2) != 0 {
        defer { sb_pop(L, 1) }
        guard problem == nil else { continue }
        guard sb_isstring_exact(L, -2) != 0, let name = vm.stringValue(at: -2) else {
            problem = "params must map field names (strings) to a declaration"
            continue
        }
        let value = vm.stringValue(at: -1) ?? ""
        let reason = value.hasPrefix("dropped:") ? value.dropFirst("dropped:".count).filter { $0 != " " } : ""
        guard value == "mapped" || value == "refused" || !reason.isEmpty else {
            problem = "params[\"\(name)\"] must be \"mapped\", \"refused\" or \"dropped: <reason>\" (a dropped field says why)"
            continue
        }
        table[name] = value
    }
    if let problem { return .failure(.init(problem)) }
    return .success(table)
}
