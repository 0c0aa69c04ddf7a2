import Logging
import Testing
@testable import LuaRuntime

/// `gw.store`: one bounded store shared by every VM, with expiry and least-recently-used eviction.
@Suite struct ScriptStoreTests {
    @Test func everyVMSeesTheSameStoreAndValuesKeepTheirBytes() throws {
        let store = ScriptStore(maxBytes: 1 << 20)
        let a = try LuaVM(limits: LuaLimits(), logger: Logger(label: "t"), store: store)
        let b = try LuaVM(limits: LuaLimits(), logger: Logger(label: "t"), store: store)
        #expect(try a.evaluate(#"return tostring(gw.store.put("k", "v\0with a zero byte", 60))"#) == "true")
        #expect(try b.evaluate(#"local v = gw.store.get("k"); return #v .. ":" .. v:sub(1, 1)"#) == "18:v")
        #expect(try b.evaluate(#"return tostring(gw.store.get("absent"))"#) == "nil")
        _ = try b.evaluate(#"gw.store.delete("k")"#)
        #expect(try a.evaluate(#"return tostring(gw.store.get("k"))"#) == "nil")
        #expect(store.bytes == 0)
    }

    @Test func aValueOverAQuarterOfTheStoreIsRefusedWithAReason() throws {
        let store = ScriptStore(maxBytes: 4000)
        let vm = try LuaVM(limits: LuaLimits(), logger: Logger(label: "t"), store: store)
        let answer = try vm.evaluate(#"local ok, why = gw.store.put("big", string.rep("x", 2000), 60); return tostring(ok) .. " " .. why"#)
        #expect(answer == "nil the value is larger than a quarter of the store (store_max_bytes)")
        #expect(try vm.evaluate(#"local ok, err = pcall(gw.store.put, "k", "v", 0); return err"#)?.contains("positive number of seconds") == true)
    }

    @Test func entriesExpireAndTheLeastRecentlyUsedGoFirst() {
        let store = ScriptStore(maxBytes: 400, maxTTL: .seconds(100))
        let start = ContinuousClock.now
        let value = [UInt8](repeating: 1, count: 90)
        #expect(store.put("a", value, ttl: .seconds(10), now: start) == nil)
        #expect(store.put("b", value, ttl: .seconds(1000), now: start) == nil)  // capped at 100 s
        #expect(store.get("a", now: start + .seconds(11)) == nil)  // expired
        #expect(store.get("b", now: start + .seconds(99)) == value)
        #expect(store.get("b", now: start + .seconds(101)) == nil)
        for key in ["c", "d", "e", "f"] { _ = store.put(key, value, ttl: .seconds(50), now: start) }
        _ = store.get("c", now: start)  // c is now the most recently used
        _ = store.put("g", value, ttl: .seconds(50), now: start)  // over 400 bytes: d goes
        #expect(store.get("d", now: start) == nil)
        #expect(store.get("c", now: start) == value && store.get("g", now: start) == value)
        #expect(store.bytes <= 400)
    }

    @Test func withoutAStoreTheCallSaysSo() throws {
        let vm = try LuaVM(limits: LuaLimits(), logger: Logger(label: "t"))
        #expect(try vm.evaluate(#"local ok, err = pcall(gw.store.get, "k"); return err"#)?.contains("this gateway has no store") == true)
    }
}
