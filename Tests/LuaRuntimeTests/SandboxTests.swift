import Logging
import Testing
@testable import LuaRuntime

/// Scripts run in a sandbox with a memory cap and an instruction budget; breaking either fails only
/// that call, and the VM keeps working.
@Suite struct SandboxTests {
    let vm: LuaVM

    init() throws {
        vm = try LuaVM(limits: LuaLimits(memoryBytes: 8 * 1024 * 1024, instructionBudget: 1_000_000),
                       logger: Logger(label: "test"))
    }

    @Test func dangerousLibrariesAreAbsent() throws {
        for name in ["io", "os", "debug", "package", "dofile", "loadfile", "string.dump"] {
            #expect(try vm.evaluate("return \(name) == nil") == "true", "\(name) should be absent")
        }
        #expect(try vm.evaluate("return type(string.format)") == "function")
        #expect(try vm.evaluate("return type(coroutine.wrap)") == "function")
        #expect(try vm.evaluate("return utf8.char(233)") == "é")
    }

    @Test func loadAcceptsOnlyText() throws {
        #expect(try vm.evaluate("return load('return 1 + 1')()") == "2")
        let refused = try vm.evaluate(#"local f, err = load('\27Lua\84\0'); return tostring(f) .. ' ' .. err"#)
        #expect(refused?.contains("attempt to load a binary chunk") == true)
    }

    @Test func requireLoadsOnlyRegisteredLibraries() throws {
        vm.registerLibrary(name: "greet", source: "return { hi = function() return 'hello' end }",
                           chunkName: "providers/lib/greet.lua")
        #expect(try vm.evaluate("return require('greet').hi()") == "hello")
        #expect(try vm.evaluate("return require('greet') == require('greet')") == "true")
        let error = #expect(throws: LuaError.self) { try vm.evaluate("return require('os')") }
        #expect(error?.message.contains("module 'os' not found") == true)
    }

    @Test func endlessLoopFailsWithTheScriptNameAndTheVMSurvives() throws {
        let error = #expect(throws: LuaError.self) {
            try vm.evaluate("local n = 0\nwhile true do n = n + 1 end", chunkName: "providers/loop.lua")
        }
        #expect(error?.kind == .budget)
        #expect(error?.message.contains("providers/loop.lua:2") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("instruction budget") == true, "\(error?.message ?? "")")
        // pcall inside the script cannot swallow the budget for long: it is shared by the whole call.
        let swallowed = #expect(throws: LuaError.self) {
            try vm.evaluate("while true do pcall(function() while true do end end) end", chunkName: "providers/sneaky.lua")
        }
        #expect(swallowed?.kind == .budget)
        // Coroutines share the same budget.
        #expect(throws: LuaError.self) {
            try vm.evaluate("while true do coroutine.wrap(function() for i = 1, 1e6 do end end)() end")
        }
        #expect(try vm.evaluate("return 40 + 2") == "42")
    }

    @Test func unboundedAllocationFailsAndTheVMSurvives() throws {
        let error = #expect(throws: LuaError.self) {
            try vm.evaluate("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 64) .. i end", chunkName: "providers/hog.lua")
        }
        #expect(error?.kind == .memory || error?.kind == .budget)
        #expect(error?.message.contains("providers/hog.lua") == true, "\(error?.message ?? "")")
        let big = #expect(throws: LuaError.self) {
            // (one string.rep of 64 MiB is now refused by the cap on one string, half the memory cap)
            try vm.evaluate("return string.rep('x', 3 * 1024 * 1024) .. string.rep('y', 3 * 1024 * 1024)", chunkName: "providers/big.lua")
        }
        #expect(big?.kind == .memory)
        #expect(big?.message.contains("memory limit of 8 MiB") == true)
        #expect(try vm.evaluate("return #string.rep('y', 1000)") == "1000")
        #expect(vm.memoryUsed < 8 * 1024 * 1024)
    }

    @Test func structuredErrorsKeepTheirStatus() throws {
        let error = #expect(throws: LuaError.self) {
            try vm.evaluate("error({status = 418, message = 'short and stout', type = 'teapot_error'})")
        }
        #expect(error?.kind == .raised(status: 418, type: "teapot_error", code: nil))
        #expect(error?.message == "short and stout")
    }

    @Test func syntaxErrorsNameFileAndLine() throws {
        let error = #expect(throws: LuaError.self) { try vm.evaluate("local x = \nreturn = 2", chunkName: "providers/bad.lua") }
        #expect(error?.kind == .syntax)
        #expect(error?.message.contains("providers/bad.lua:2") == true)
    }
}

/// The host API scripts get as `gw`.
@Suite struct HostAPITests {
    let vm: LuaVM

    init() throws {
        vm = try LuaVM(limits: LuaLimits(), logger: Logger(label: "test"))
    }

    @Test func base64() throws {
        #expect(try vm.evaluate("return gw.base64.encode('')") == "")
        #expect(try vm.evaluate("return gw.base64.encode('f')") == "Zg==")
        #expect(try vm.evaluate("return gw.base64.encode('foobar')") == "Zm9vYmFy")
        #expect(try vm.evaluate("return gw.base64.encode('fooba')") == "Zm9vYmE=")
        #expect(try vm.evaluate("return gw.base64.url_encode('\\251\\255')") == "-_8")
        #expect(try vm.evaluate("return gw.base64.decode('Zm9vYmE=')") == "fooba")
        #expect(try vm.evaluate("return gw.base64.decode('-_8') == '\\251\\255'") == "true")
        #expect(try vm.evaluate("local s = ''; for i = 0, 255 do s = s .. string.char(i) end; return gw.base64.decode(gw.base64.encode(s)) == s") == "true")
        #expect(try vm.evaluate("local v, err = gw.base64.decode('ab!c'); return tostring(v) .. ' ' .. err") == "nil invalid base64 at byte 2")
    }

    @Test func hashes() throws {
        #expect(try vm.evaluate("return gw.hex(gw.sha256('abc'))") ==
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // RFC 4231 test case 2.
        #expect(try vm.evaluate("return gw.hex(gw.hmac_sha256('Jefe', 'what do ya want for nothing?'))") ==
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func timeAndUUID() throws {
        let uuid = try #require(try vm.evaluate("return gw.uuid()"))
        #expect(uuid.count == 36)
        #expect(Array(uuid)[14] == "4")
        #expect(try vm.evaluate("return gw.uuid() ~= gw.uuid()") == "true")
        #expect(try vm.evaluate("return gw.time() > 1.7e9") == "true")
        #expect(try vm.evaluate("local a = gw.monotonic_ms(); return gw.monotonic_ms() >= a") == "true")
        #expect(try vm.evaluate("gw.log('info', 'hello from a test'); print('x', 1); return 'logged'") == "logged")
    }
}
