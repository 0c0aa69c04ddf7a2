import CLuaShim
import NIOCore
import NIOPosix

/// Runs Swift concurrency's jobs on NIO's event loops, so a request's task, its upstream call and
/// its response writes stay on the connection's thread instead of hopping to the cooperative pool
/// and back.
///
/// NIO's own `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor` finds the
/// runtime's hook with `dlsym`, which sees exported symbols only. Since the executable links the
/// Swift runtime statically and exports nothing (Package.swift), the hook is hidden and NIO's call
/// returns false: every build from 8e40dad (2026-11-27) ran tasks on the default pool, and said so
/// only in one info line at startup. When NIO's way fails this installs the same hook through the
/// static link (`sb_swift_install_enqueue_global_hook`): each job goes to an event loop of the
/// singleton group, the current one when it is enqueued from one (`any()` prefers it).
enum EventLoopExecutor {
    typealias EnqueueGlobalHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// Must run before any task is enqueued, once. Returns whether jobs now run on the loops.
    static func install() -> Bool {
        if NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() { return true }
        return withUnsafeTemporaryAllocation(of: EnqueueGlobalHook.self, capacity: 1) { slot in
            slot.baseAddress!.initialize(to: { job, _ in
                MultiThreadedEventLoopGroup.singleton.any().executor.enqueue(ExecutorJob(job))
            })
            // A thin function is one code pointer; the runtime stores the hook as that pointer.
            return slot.baseAddress!.withMemoryRebound(to: UnsafeMutableRawPointer.self, capacity: 1) { pointer in
                sb_swift_install_enqueue_global_hook(pointer.pointee) == 1
            }
        }
    }
}
