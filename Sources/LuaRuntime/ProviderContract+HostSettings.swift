import CLuaShim

/// Checks `host_settings` of the provider table on top of the stack: absent, or a list of setting
/// names. A mistyped declaration stops the load (it would otherwise leave a host-deciding setting
/// open to clients).
func hostSettingsProblem(_ vm: LuaVM) -> String? {
    let L = vm.state
    let type = sb_rawgetfield(L, -1, "host_settings")
    defer { sb_pop(L, 1) }
    if type == LUA_TNIL { return nil }
    guard type == LUA_TTABLE else { return "host_settings must be a list of setting names" }
    lua_pushnil(L)
    while lua_next(L, -2) != 0 {
        let valid = lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TSTRING
        sb_pop(L, 1)
        if !valid {
            sb_pop(L, 1)
            return "host_settings must be a list of setting names (strings)"
        }
    }
    return nil
}
