import CLuaShim
import Synchronization

/// A fixed set of Lua VMs, each behind its own lock, so concurrent requests run scripts in parallel
/// with no lock serializing them all.
///
/// A caller takes the first free VM starting from a rotating index; only when every VM is busy does
/// it wait on one. Script calls are short and bounded by the instruction budget, so the wait is too.
final class LuaPool: Sendable {
    private final class Slot: Sendable {
        let vm: Mutex<LuaVM>
        init(_ vm: LuaVM) { self.vm = Mutex(vm) }
    }

    private let slots: [Slot]
    private let cursor = Atomic<Int>(0)

    init(vms: [LuaVM]) {
        precondition(!vms.isEmpty, "a Lua pool needs at least one VM")
        self.slots = vms.map(Slot.init)
    }

    var count: Int { slots.count }

    /// Runs `body` with exclusive use of one VM.
    func withVM<T>(_ body: (LuaVM) throws(LuaError) -> T) throws(LuaError) -> T {
        try withAnyVM { vm, _ throws(LuaError) in try body(vm) }
    }

    /// Runs `body` with exclusive use of one VM and tells it which (so per-request state kept in
    /// that VM can be reached again with ``withVM(at:_:)``).
    func withAnyVM<T>(_ body: (LuaVM, Int) throws(LuaError) -> T) throws(LuaError) -> T {
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        for offset in 0..<slots.count {
            let index = (start &+ offset) % slots.count
            let outcome: Result<T, LuaError>? = slots[index].vm.withLockIfAvailable { vm in
                do throws(LuaError) {
                    return .success(try body(vm, index))
                } catch {
                    return .failure(error)
                }
            }
            if let outcome { return try outcome.get() }
        }
        return try withVM(at: start % slots.count) { vm throws(LuaError) in try body(vm, start % slots.count) }
    }

    /// Runs `body` with exclusive use of one particular VM, waiting for it if busy.
    func withVM<T>(at index: Int, _ body: (LuaVM) throws(LuaError) -> T) throws(LuaError) -> T {
        let outcome: Result<T, LuaError> = slots[index].vm.withLock { vm in
            do throws(LuaError) {
                return .success(try body(vm))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// Runs a full collection in every VM that is free right now (busy ones are skipped): after a
    /// burst, garbage left in the VMs pins heap pages that malloc_trim could otherwise return.
    func collectIdleGarbage() {
        for slot in slots {
            _ = slot.vm.withLockIfAvailable { vm in sb_gc_collect(vm.state) }
        }
    }

    /// Runs `body` on every VM in turn (used while building a generation).
    func forEachVM(_ body: (LuaVM) throws(LuaError) -> Void) throws(LuaError) {
        for slot in slots {
            let outcome: Result<Void, LuaError> = slot.vm.withLock { vm in
                do throws(LuaError) {
                    try body(vm)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            try outcome.get()
        }
    }
}
