import CLuaShim
import Synchronization

/// A set of Lua VMs, each behind its own lock, so concurrent requests run scripts in parallel
/// with no lock serializing them all.
///
/// A caller takes the first free VM starting from a rotating index; only when every VM is busy does
/// it wait on one. Script calls are short and bounded by the instruction budget, so the wait is too.
///
/// Only the first VM is built with the pool (it validates every script); the others are built the
/// first time every built VM is busy, up to `capacity`. Each VM holds every provider, converter and
/// plugin (~0.9 MB with the bundled scripts), so an idle gateway, or one that never sees
/// concurrent script calls, keeps one instead of `capacity` (idle RSS 2.7 MB less with the default
/// four, bench/idle-rss). Building one costs a few milliseconds, once per VM, on the call that
/// found them all busy.
final class LuaPool: Sendable {
    private final class Slot: Sendable {
        let vm: Mutex<LuaVM?>
        init(_ vm: LuaVM?) { self.vm = Mutex(vm) }
    }

    private let slots: [Slot]
    private let cursor = Atomic<Int>(0)
    /// Slots `0..<built` hold a VM; the next one is built when they are all busy.
    private let built: Atomic<Int>
    private let makeVM: (@Sendable () -> LuaVM?)?

    /// - Parameters:
    ///   - vms: VMs built already (at least one).
    ///   - capacity: how many VMs the pool may hold; more than `vms.count` needs `makeVM`.
    ///   - makeVM: builds one more VM like the others, nil when it cannot.
    init(vms: [LuaVM], capacity: Int? = nil, makeVM: (@Sendable () -> LuaVM?)? = nil) {
        precondition(!vms.isEmpty, "a Lua pool needs at least one VM")
        let capacity = makeVM == nil ? vms.count : max(capacity ?? vms.count, vms.count)
        self.slots = (0..<capacity).map { Slot($0 < vms.count ? vms[$0] : nil) }
        self.built = Atomic(vms.count)
        self.makeVM = makeVM
    }

    /// How many VMs the pool may hold.
    var count: Int { slots.count }

    /// How many VMs are built.
    var builtCount: Int { built.load(ordering: .acquiring) }

    /// Runs `body` with exclusive use of one VM.
    func withVM<T>(_ body: (LuaVM) throws(LuaError) -> T) throws(LuaError) -> T {
        try withAnyVM { vm, _ throws(LuaError) in try body(vm) }
    }

    /// Runs `body` with exclusive use of one VM and tells it which (so per-request state kept in
    /// that VM can be reached again with ``withVM(at:_:)``).
    func withAnyVM<T>(_ body: (LuaVM, Int) throws(LuaError) -> T) throws(LuaError) -> T {
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        let ready = built.load(ordering: .acquiring)
        for offset in 0..<ready {
            let index = (start &+ offset) % ready
            if let outcome = run(at: index, ifFree: true, body) { return try outcome.get() }
        }
        // Every built VM is busy: build the next one, unless another caller is building it.
        if ready < slots.count, let outcome = grow(at: ready, body) { return try outcome.get() }
        return try withVM(at: start % ready) { vm throws(LuaError) in try body(vm, start % ready) }
    }

    /// Runs `body` with exclusive use of one particular VM, waiting for it if busy.
    func withVM<T>(at index: Int, _ body: (LuaVM) throws(LuaError) -> T) throws(LuaError) -> T {
        guard let outcome = run(at: index, ifFree: false, { vm, _ throws(LuaError) in try body(vm) }) else {
            throw LuaError(kind: .runtime, message: "Lua VM \(index) is not built")
        }
        return try outcome.get()
    }

    /// Runs a full collection in every VM that is free right now (busy ones are skipped): after a
    /// burst, garbage left in the VMs pins heap pages that malloc_trim could otherwise return.
    func collectIdleGarbage() {
        for slot in slots {
            _ = slot.vm.withLockIfAvailable { vm in vm.map { sb_gc_collect($0.state) } }
        }
    }

    /// Runs `body` on every built VM in turn.
    func forEachVM(_ body: (LuaVM) throws(LuaError) -> Void) throws(LuaError) {
        for index in 0..<built.load(ordering: .acquiring) {
            _ = try withVM(at: index, body)
        }
    }

    /// Runs `body` on the VM of slot `index` (waiting for it, or only if it is free); nil when the
    /// slot was busy or holds no VM.
    private func run<T>(at index: Int, ifFree: Bool,
                        _ body: (LuaVM, Int) throws(LuaError) -> T) -> Result<T, LuaError>? {
        if ifFree {
            let outcome: Result<T, LuaError>?? = slots[index].vm.withLockIfAvailable { vm in
                guard let vm else { return nil }
                do throws(LuaError) {
                    return .success(try body(vm, index))
                } catch {
                    return .failure(error)
                }
            }
            return outcome ?? nil
        }
        return slots[index].vm.withLock { vm in
            guard let vm else { return nil }
            do throws(LuaError) {
                return .success(try body(vm, index))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Builds the VM of slot `index` under its lock and runs `body` on it; nil when another caller
    /// holds the slot (it is building it) or the VM cannot be built.
    private func grow<T>(at index: Int, _ body: (LuaVM, Int) throws(LuaError) -> T) -> Result<T, LuaError>? {
        guard let makeVM else { return nil }
        let outcome: Result<T, LuaError>?? = slots[index].vm.withLockIfAvailable { slot in
            if slot == nil {
                guard let vm = makeVM() else { return nil }
                slot = vm
                // Slots are built in order, so `built` moves from `index` to `index + 1` only here.
                built.store(index + 1, ordering: .releasing)
            }
            do throws(LuaError) {
                return .success(try body(slot!, index))
            } catch {
                return .failure(error)
            }
        }
        return outcome ?? nil
    }
}
