import CLuaShim

/// Checks `host_settings` / `credential_settings` (`field`) of the provider table on top of the
/// stack: absent, or a list of setting names. A mistyped declaration stops the load (it would
/// otherwise leave a host-deciding setting open to clients, or a credential unguarded).
func hostSettingsProblem(_ vm: LuaVM, _ field: String) -> String? {
    let L = vm.state
    let type = sb_rawgetfield(L, -1, field)
    defer { sb_pop(L, 1) }
    if type == LUA_TNIL { return nil }
    guard type == LUA_TTABLE else { return "\(field) must be a list of setting names" }
    lua_pushnil(L)
    while lua_next(L, -2) != 0 {
        let valid = lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TSTRING
        sb_pop(L, 1)
        if !valid {
            sb_pop(L, 1)
            return "\(field) must be a list of setting names (strings)"
        }
    }
    return nil
}
