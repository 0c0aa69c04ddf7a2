import NIOCore

/// The isolation a request's task runs under: the event loop of the client's connection.
///
/// NIO is Swift's global executor here, and it runs every job *on the loop's own serial executor*.
/// A task with no isolation therefore hops at each call into a function that runs on the generic
/// executor (a plain nonisolated async function, or a `nonisolated(nonsending)` one called without
/// isolation): `swift_task_switch` sees the loop's executor, wants the generic one, and enqueues
/// the task again — a trip through the loop's job queue per call. `bench/counts-ab --connections 1`
/// counted 15 such switches per request through the stage chain. Isolated to this actor, whose
/// executor *is* the loop, the chain's `nonisolated(nonsending)` functions inherit the loop and run
/// straight through; only a suspension (the upstream's answer) leaves the loop's thread, and it
/// comes back to it.
///
/// The request's work ran on an event loop before too (the global executor's jobs do); now it
/// stays on the connection's own loop, which is also where its upstream exchange runs.
actor EventLoopIsolation {
    nonisolated let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        loop.executor.asUnownedSerialExecutor()
    }
}
