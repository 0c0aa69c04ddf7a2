import CLuaShim

extension LuaVM {
    /// `table[key]` as an HTTP status a script returned: nil when absent; a ``LuaError`` naming the
    /// script when it is not a whole number in 100–599 (`-7`, `0`, `1000`, `70000`, `2.5`, `"200"`
    /// would otherwise reach the status line, or trap when converted).
    func statusField(_ table: Int32, _ key: String = "status", script: String, what: String) throws(LuaError) -> Int? {
        let type = sb_rawgetfield(state, table, key)
        defer { sb_pop(state, 1) }
        if type == LUA_TNIL { return nil }
        var rendered = "a \(String(cString: lua_typename(state, type)))"
        if type == LUA_TNUMBER {
            var isInteger: Int32 = 0
            let integer = lua_tointegerx(state, -1, &isInteger)
            if isInteger != 0 {
                let status = Int(truncatingIfNeeded: integer)
                if WireSyntax.statusProblem(status) == nil { return status }
                rendered = String(integer)
            } else {
                rendered = String(lua_tonumberx(state, -1, nil))
            }
        }
        throw LuaError(kind: .runtime, script: script,
                       message: "\(script): \(what) returned status \(rendered); a status must be a whole number from 100 to 599")
    }
}
