import Logging
import Synchronization
import Testing
@testable import LuaRuntime

/// The pool builds its first VM with the generation and the others only when every built VM is busy.
@Suite struct LazyPoolTests {
    func generation(vms: Int) throws -> ScriptGeneration {
        let sources = try ScriptSources.read(providersDirectory: ScriptGenerationTests.providersFolder, scriptsDirectory: nil)
        return try ScriptGeneration.build(number: 1, sources: sources, vmCount: vms, limits: LuaLimits(), logger: Logger(label: "t"))
    }

    func prepare(_ generation: ScriptGeneration, key: String) throws -> String {
        try generation.prepare(provider: "openai", context: PrepareContext(
            endpoint: "chat/completions", method: "POST", path: "/chat/completions", query: "", customHost: nil,
            apiKey: key, model: "gpt-4", settings: [])).headers.first?.value ?? ""
    }

    @Test func oneVMUntilCallsOverlap() throws {
        let generation = try generation(vms: 3)
        #expect(generation.vmCount == 3 && generation.pool.builtCount == 1)
        // Calls one after another never need a second VM.
        for i in 0..<20 { #expect(try prepare(generation, key: "k\(i)") == "Bearer k\(i)") }
        #expect(generation.pool.builtCount == 1)
        // A call made while VM 0 is busy gets a new VM, built with every provider loaded.
        let nested = try generation.pool.withAnyVM { _, outer throws(LuaError) in
            try generation.pool.withAnyVM { _, inner throws(LuaError) in (outer, inner) }
        }
        #expect(nested == (0, 1))
        #expect(generation.pool.builtCount == 2)
        // With VMs 0 and 1 held, a provider call runs on a third VM, built now with every provider.
        let third = try generation.pool.withAnyVM { _, a throws(LuaError) in
            try generation.pool.withAnyVM { _, b throws(LuaError) in
                ([a, b], try? prepare(generation, key: "third"))
            }
        }
        #expect(Set(third.0) == [0, 1] && third.1 == "Bearer third" && generation.pool.builtCount == 3)
        // Three calls at once use the three VMs; the pool never grows past its capacity.
        let waited = try generation.pool.withAnyVM { _, a throws(LuaError) in
            try generation.pool.withAnyVM { _, b throws(LuaError) in
                try generation.pool.withAnyVM { _, c throws(LuaError) in [a, b, c] }
            }
        }
        #expect(Set(waited) == [0, 1, 2] && generation.pool.builtCount == 3)
        #expect(try prepare(generation, key: "after") == "Bearer after")
    }

    @Test func vmsBuiltForABurstAreRetiredWhenIdleUnlessPinned() throws {
        let generation = try generation(vms: 3)
        _ = try generation.pool.withAnyVM { _, _ throws(LuaError) in
            try generation.pool.withAnyVM { _, _ throws(LuaError) in
                try generation.pool.withAnyVM { _, c throws(LuaError) in c }
            }
        }
        #expect(generation.pool.builtCount == 3)
        generation.pool.pin(2)
        // The first pass only notes what each VM has run; the next closes those unused since.
        #expect(generation.retireIdleVMs() == 0)
        #expect(generation.retireIdleVMs() == 1 && generation.pool.builtCount == 2)
        // A VM that holds a request's value stays, and goes once that is released.
        #expect(generation.retireIdleVMs() == 0)
        generation.pool.unpin(2)
        #expect(generation.retireIdleVMs() == 1 && generation.pool.builtCount == 1)
        // A VM used since the previous pass stays for one more pass.
        _ = try generation.pool.withAnyVM { _, _ throws(LuaError) in
            try generation.pool.withAnyVM { _, index throws(LuaError) in index }
        }
        #expect(generation.pool.builtCount == 2)
        #expect(generation.retireIdleVMs() == 0)
        #expect(generation.retireIdleVMs() == 1 && generation.pool.builtCount == 1)
        #expect(try prepare(generation, key: "one") == "Bearer one")
    }

    @Test func concurrentCallsGrowThePoolAndAllSucceed() async throws {
        let generation = try generation(vms: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let header = try self.prepare(generation, key: "k\(i)")
                    #expect(header == "Bearer k\(i)")
                }
            }
            try await group.waitForAll()
        }
        #expect((1...4).contains(generation.pool.builtCount))
    }
}
