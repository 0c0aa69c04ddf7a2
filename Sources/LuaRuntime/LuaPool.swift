import CLuaShim
import Synchronization

/// A set of Lua VMs, each behind its own lock, so concurrent requests run scripts in parallel
/// with no lock serializing them all.
///
/// A caller takes the first free VM starting from a rotating index; only when every VM is busy does
/// it wait on one. Script calls are short and bounded by the instruction budget, so the wait is too.
///
/// Only the first VM is built with the pool (it validates every script); the others are built the
/// first time every built VM is busy, up to `capacity`, and closed again by ``retireIdleVMs()``
/// once the gateway has been idle for a while. Each VM holds every provider, converter and plugin
/// (~0.9 MB with the bundled scripts), so an idle gateway, or one that never sees concurrent
/// script calls, keeps one instead of `capacity` (idle RSS 2.7 MB less with the default four,
/// bench/idle-rss). Building one costs a few milliseconds, on the call that found them all busy.
final class LuaPool: Sendable {
    private final class Slot: Sendable {
        let vm: Mutex<LuaVM?>
        /// Calls run on this VM, counted under its lock.
        let uses = Atomic<Int>(0)
        /// `uses` at the previous ``LuaPool/retireIdleVMs()``.
        let usesSeen = Atomic<Int>(-1)
        /// Values kept in its registry for requests in flight (``RegistryRef``).
        let pins = Atomic<Int>(0)
        init(_ vm: LuaVM?) { self.vm = Mutex(vm) }
    }

    private let slots: [Slot]
    private let cursor = Atomic<Int>(0)
    /// How many slots hold a VM. Slot 0 always does; the others come and go.
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
        for offset in 0..<slots.count {
            let index = (start &+ offset) % slots.count
            if let outcome = run(at: index, ifFree: true, body) { return try outcome.get() }
        }
        // Every built VM is busy: build one in a free empty slot, unless there is none.
        if makeVM != nil, built.load(ordering: .relaxed) < slots.count {
            for index in 1..<slots.count {
                if let outcome = grow(at: index, body) { return try outcome.get() }
            }
        }
        let index = start % slots.count
        if let outcome = run(at: index, ifFree: false, body) { return try outcome.get() }
        return try withVM(at: 0) { vm throws(LuaError) in try body(vm, 0) }
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
        for index in slots.indices {
            _ = try run(at: index, ifFree: false) { vm, _ throws(LuaError) in try body(vm) }?.get()
        }
    }

    /// Runs `body` on the VM of slot `index` (waiting for it, or only if it is free); nil when the
    /// slot was busy or holds no VM.
    private func run<T>(at index: Int, ifFree: Bool,
                        _ body: (LuaVM, Int) throws(LuaError) -> T) -> Result<T, LuaError>? {
        if ifFree {
            let outcome: Result<T, LuaError>?? = slots[index].vm.withLockIfAvailable { vm in
                guard let vm else { return nil }
                slots[index].uses.add(1, ordering: .relaxed)
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
            slots[index].uses.add(1, ordering: .relaxed)
            do throws(LuaError) {
                return .success(try body(vm, index))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Builds the VM of slot `index` under its lock and runs `body` on it (or on the VM another
    /// caller built there meanwhile); nil when the slot is busy or the VM cannot be built.
    private func grow<T>(at index: Int, _ body: (LuaVM, Int) throws(LuaError) -> T) -> Result<T, LuaError>? {
        guard let makeVM else { return nil }
        let outcome: Result<T, LuaError>?? = slots[index].vm.withLockIfAvailable { slot in
            if slot == nil {
                guard let vm = makeVM() else { return nil }
                slot = vm
                built.add(1, ordering: .relaxed)
            }
            slots[index].uses.add(1, ordering: .relaxed)
            do throws(LuaError) {
                return .success(try body(slot!, index))
            } catch {
                return .failure(error)
            }
        }
        return outcome ?? nil
    }

    /// A request keeps a value in VM `index` (a ``RegistryRef``): the VM is not retired meanwhile.
    func pin(_ index: Int) { slots[index].pins.add(1, ordering: .relaxed) }

    func unpin(_ index: Int) { slots[index].pins.subtract(1, ordering: .relaxed) }

    /// Closes every VM but the first that is free, holds nothing for a request, and ran no call
    /// since the previous time this was called; returns how many it closed. Called by the
    /// gateway's idle housekeeping (every 2 s while nothing is in flight), so a VM built for a
    /// burst goes about two periods after it and RSS returns to its idle level. A call between a
    /// VM's use and its pin (a few instructions) changes `uses`, so that VM is kept.
    @discardableResult
    func retireIdleVMs() -> Int {
        var retired = 0
        for slot in slots.dropFirst() {
            let closed = slot.vm.withLockIfAvailable { vm -> Bool in
                guard vm != nil else { return false }
                let uses = slot.uses.load(ordering: .relaxed)
                let unused = slot.usesSeen.exchange(uses, ordering: .relaxed) == uses
                guard unused, slot.pins.load(ordering: .acquiring) == 0 else { return false }
                vm = nil
                return true
            } ?? false
            if closed {
                built.subtract(1, ordering: .relaxed)
                retired += 1
            }
        }
        return retired
    }
}
