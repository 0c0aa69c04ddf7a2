import CLuaShim

/// A value kept in one VM's registry for the length of a request (a translation's `ctx`, the
/// middleware `ctx`, a scripted route's coroutine), released when the last owner lets go. Holding
/// the pool keeps the VM alive across a reload.
final class RegistryRef: Sendable {
    let pool: LuaPool
    let vmIndex: Int
    let ref: Int32

    init(pool: LuaPool, vmIndex: Int, ref: Int32) {
        self.pool = pool
        self.vmIndex = vmIndex
        self.ref = ref
        pool.pin(vmIndex)
    }

    deinit {
        let ref = self.ref
        try? pool.withVM(at: vmIndex) { vm throws(LuaError) in luaL_unref(vm.state, sb_registryindex(), ref) }
        pool.unpin(vmIndex)
    }

    /// Runs `body` with exclusive use of the VM that holds the value.
    func withVM<T>(_ body: (LuaVM) throws(LuaError) -> T) throws(LuaError) -> T {
        try pool.withVM(at: vmIndex, body)
    }

    /// For a pinned coroutine (a scripted route's handler, a hook's runner): decodes `result` (JSON)
    /// onto it as the value its yield returns, and runs `resume` on it.
    func resumeCoroutine<T>(with result: [UInt8], script: String,
                            _ resume: (LuaVM, OpaquePointer) throws(LuaError) -> T) throws(LuaError) -> T {
        try withVM { vm throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            lua_rawgeti(L, sb_registryindex(), lua_Integer(ref))
            guard let co = lua_tothread(L, -1) else {
                throw LuaError(kind: .runtime, script: script, message: "\(script): the coroutine is gone")
            }
            try vm.decodeJSON(result, script: script)
            lua_xmove(L, co, 1)
            return try resume(vm, co)
        }
    }
}

extension LuaVM {
    /// What a coroutine yielded for the host to perform (`coroutine.yield(kind, request)` from
    /// `gw.fetch` / `gw.route`): the kind, and the request table as JSON.
    func yieldedCall(_ co: OpaquePointer, results: Int32, script: String, who: String) throws(LuaError) -> (kind: String, request: [UInt8]) {
        let L = state
        var length = 0
        guard results == 2, let pointer = lua_tolstring(co, -2, &length) else {
            lua_settop(co, 0)
            throw LuaError(kind: .runtime, script: script, message: "\(script): \(who) yielded something the gateway cannot perform")
        }
        let kind = String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
        lua_xmove(co, L, 1)  // the request table
        lua_settop(co, 0)
        let request = try encodeJSON(at: -1, script: script)
        sb_pop(L, 1)
        return (kind, request)
    }
}
