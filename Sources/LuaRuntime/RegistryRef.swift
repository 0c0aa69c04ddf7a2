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
    }

    deinit {
        let ref = self.ref
        try? pool.withVM(at: vmIndex) { vm throws(LuaError) in luaL_unref(vm.state, sb_registryindex(), ref) }
    }

    /// Runs `body` with exclusive use of the VM that holds the value.
    func withVM<T>(_ body: (LuaVM) throws(LuaError) -> T) throws(LuaError) -> T {
        try pool.withVM(at: vmIndex, body)
    }
}
