import Logging
import Testing
@testable import LuaRuntime

/// Nothing a script does holds a thread for long: a wall-clock deadline per call (checked by the
/// count hook, by big allocations and by the bounded C functions), a cap on the strings one C call
/// builds, a step-budgeted pattern matcher, and no `__gc` finalizers.
@Suite struct HardeningTests {
    static func makeVM(timeLimit: Int = 300, memory: Int = 64 * 1024 * 1024) throws -> LuaVM {
        try LuaVM(limits: LuaLimits(memoryBytes: memory, instructionBudget: 1 << 40, timeLimitMilliseconds: timeLimit),
                  logger: Logger(label: "test"))
    }

    /// The examples from issue 12, each of which used to hold the calling thread indefinitely.
    @Test(arguments: [
        "for i = 1, 50000 do string.rep('x', 4e6) end",
        "local s = ('x'):rep(1e7) while true do local t = s .. s end",
        "while true do pcall(string.rep, 'x', 1e7) end",
        "local a, b = ('x'):rep(2e7), ('x'):rep(2e7) while true do local c = a < b end",
        "local t = {} for i = 1, 2e6 do t[i] = i end while true do table.insert(t, 1, 0) table.remove(t, 1) end",
        "local t, s = {}, ('x'):rep(2e7) for i = 1, 1000 do t[i] = s end table.sort(t)",
        "local s = ('a'):rep(3e7) while true do s:gsub('.', '%0') end",
    ])
    func longCallsStopAtTheDeadline(script: String) throws {
        let vm = try Self.makeVM()
        let error = #expect(throws: LuaError.self) { try vm.evaluate(script, chunkName: "scripts/slow.lua") }
        #expect(error?.kind == .budget, "\(error?.message ?? "")")
        #expect(error?.message.contains("time limit of 300 ms exceeded") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("scripts/slow.lua") == true, "\(error?.message ?? "")")
        #expect(try vm.evaluate("return 40 + 2") == "42")
    }

    @Test func catastrophicPatternsAreTooComplex() throws {
        let vm = try Self.makeVM(timeLimit: 0)  // the step budget alone stops them
        for script in [
            #"return string.find(("a"):rep(5000), (".-"):rep(6) .. "b")"#,
            #"return (("a"):rep(3000)):match(("a*"):rep(5) .. "b")"#,
            #"for w in (("("):rep(20000)):gmatch("%b()") do end"#,
            #"return (("x"):rep(20000)):gsub("(.-)y", "%1")"#,
        ] {
            let error = #expect(throws: LuaError.self) { try vm.evaluate(script, chunkName: "providers/p.lua") }
            #expect(error?.kind == .runtime)
            #expect(error?.message.hasPrefix("providers/p.lua:1: pattern too complex") == true, "\(error?.message ?? "")")
        }
        #expect(try vm.evaluate(#"return (("a"):rep(1e6) .. "b"):find("a+b")"#) == "1")
        #expect(try vm.evaluate(#"return select(2, (("ab "):rep(1e5)):gsub("%w+", "%0!"))"#) == "100000")
    }

    @Test func patternFunctionsMatchTheStockOnes() throws {
        let vm = try Self.makeVM(timeLimit: 0, memory: 256 * 1024 * 1024)
        vm.exposeStockPatternsForTesting()
        let summary = try vm.evaluate("CASES = 20000\n" + differentialScript, chunkName: "differential.lua")
        #expect(summary?.contains("140052 comparisons") == true, "\(summary ?? "")")
    }

    @Test func finalizersAreRefused() throws {
        let vm = try Self.makeVM()
        for metatable in ["{__gc = function() while true do end end}", "{__gc = true}"] {
            let error = #expect(throws: LuaError.self) {
                try vm.evaluate("setmetatable({}, \(metatable))", chunkName: "scripts/gc.lua")
            }
            #expect(error?.message.contains("scripts/gc.lua:1: setmetatable: a metatable with __gc is not allowed") == true,
                    "\(error?.message ?? "")")
        }
        // The metatable the host gives JSON arrays cannot be reached to add one.
        #expect(try vm.evaluate("return tostring(getmetatable(gw.json.array({})))") == "false")
        #expect(try vm.evaluate("return getmetatable(setmetatable({}, {__index = {}})) ~= nil") == "true")
    }

    @Test func oneCallBuildsNoStringOverTheCap() throws {
        let vm = try LuaVM(limits: LuaLimits(memoryBytes: 64 * 1024 * 1024, maxStringBytes: 1024 * 1024),
                           logger: Logger(label: "test"))
        for (script, name) in [
            ("return string.rep('x', 2^20 + 1)", "string.rep"),
            ("return string.rep('ab', 2^19, ',')", "string.rep"),
            ("return string.format('%s%s', ('x'):rep(2^19), ('x'):rep(2^19 + 1))", "string.format"),
            ("local t = {} for i = 1, 300 do t[i] = ('x'):rep(4096) end return table.concat(t)", "table.concat"),
            ("return (('x'):rep(2^19 + 1)):gsub('x', 'yy')", "string.gsub"),
        ] {
            let error = #expect(throws: LuaError.self) { try vm.evaluate(script, chunkName: "providers/big.lua") }
            #expect(error?.message.contains("providers/big.lua:1: \(name): a result of") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("over the limit of 1048576 bytes for one string") == true)
        }
        #expect(try vm.evaluate("return #string.rep('x', 2^20)") == "1048576")
        #expect(try vm.evaluate("return #(('x'):rep(2^19)):gsub('x', 'y')") == "524288")
    }

    @Test func sortWithoutComparatorKeepsItsBehaviour() throws {
        let vm = try Self.makeVM()
        #expect(try vm.evaluate("local t = {5, 3, 9, 1} table.sort(t) return table.concat(t, ',')") == "1,3,5,9")
        #expect(try vm.evaluate("local t = {'b', 'a'} table.sort(t, function(x, y) return x > y end) return table.concat(t)") == "ba")
        let error = #expect(throws: LuaError.self) { try vm.evaluate("table.sort({1, 'a', 2})") }
        #expect(error?.message.contains("attempt to compare") == true, "\(error?.message ?? "")")
        let named = #expect(throws: LuaError.self) { try vm.evaluate("string.rep()", chunkName: "x.lua") }
        #expect(named?.message == "x.lua:1: bad argument #1 to 'rep' (string expected, got no value)", "\(named?.message ?? "")")
    }
}

/// Compares the bounded pattern functions with the stock ones (exposed as `stock_patterns`) over
/// generated patterns and subjects; returns "N comparisons, M skipped …" or raises the differences.
private let differentialScript = #"""
-- Differential test: the sandbox's bounded string.find/match/gmatch/gsub against the stock ones.
local stock = stock_patterns
local mine = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }
assert(stock and stock.find ~= mine.find, "stock functions are not exposed")
math.randomseed(CASES_SEED or 12)
local random = math.random
local function pick(list) return list[random(#list)] end

local singles = { "a", "b", "c", "(", ")", ".", "%.", "%%", "%-", "%(", "%]", "%a", "%d", "%s", "%w", "%p",
  "%l", "%u", "%x", "%c", "%g", "%A", "%D", "%S", "%W", "%z", "[abc]", "[^ab]", "[a-c]", "[%d_]", "[]a]", "[^]a]",
  "[a-]", "[-a]", "[%a-]", "[%]]", "[a%-c]", "[^%s]", "[b-a]", "[.]", "[%%]", "\0", "[\0a]", "Z", "1", " " }
local quantifiers = { "", "", "", "*", "+", "-", "?" }
local specials = { "%b()", "%bab", '%b""', "%f[%w]", "%f[^a]", "%f[%z]", "%f[a-c]", "%f[%s]", "%1", "%2", "()", "$", "^" }
local broken = { "%", "[a", "(", ")", "%b", "%ba", "%f", "%fa", "%9", "%0", "[^", "[%", "(()" }

local function item()
  local r = random(100)
  if r <= 60 then return pick(singles) .. pick(quantifiers) end
  if r <= 85 then return pick(specials) end
  if r <= 93 then return "(" .. pick(singles) .. pick(quantifiers) .. (random(2) == 1 and pick(singles) or "") .. ")" end
  return pick(broken)
end

local function pattern()
  local parts = {}
  if random(4) == 1 then parts[#parts + 1] = "^" end
  for _ = 1, random(0, 5) do parts[#parts + 1] = item() end
  if random(4) == 1 then parts[#parts + 1] = "$" end
  return table.concat(parts)
end

local alphabet = { "a", "a", "b", "b", "c", "(", ")", "1", "2", " ", ".", "-", "_", "%", "\0", "Z", '"', "]" }
local function subject()
  local parts = {}
  for _ = 1, random(0, 16) do parts[#parts + 1] = pick(alphabet) end
  return table.concat(parts)
end

local function show(...)
  local n = select("#", ...)
  local out = { tostring(n) }
  for i = 1, n do
    local v = select(i, ...)
    out[#out + 1] = type(v) .. ":" .. (type(v) == "string" and string.format("%q", v) or tostring(v))
  end
  return table.concat(out, " ")
end

-- The stock functions are no longer in the string table, so argument errors name them '?'.
local function run(f, ...)
  local result = table.pack(pcall(f, ...))
  if not result[1] then result[2] = tostring(result[2]):gsub("to '[%w.?]+'", "to 'F'") end
  return show(table.unpack(result, 1, result.n))
end

local function gmatch_all(gmatch, s, p, init)
  return function()
    local out = {}
    local it = gmatch(s, p, init)
    for _ = 1, 40 do
      local r = table.pack(it())
      if r[1] == nil then break end
      out[#out + 1] = show(table.unpack(r, 1, r.n))
    end
    return table.concat(out, "|")
  end
end

local replacements = { "%0", "%1", "x%2y", "%%", "", "<%1>", "%", "%a", "[%0]", "%1%1", 7 }
local tables = { { a = "A", b = false, ["("] = 1.5, ab = "AB" }, { [1] = "one", [2] = "two", c = {} } }
local function function_replacement(...)
  local n = select("#", ...)
  local first = ...
  if first == "b" then return false end
  if first == "c" then return nil end
  if first == "(" then return {} end
  return n .. ":" .. table.concat({ ... }, ",", 1, n)
end

local checked, skipped, failures = 0, 0, {}
local function compare(what, s, p, a, b)
  checked = checked + 1
  if a ~= b then
    if b:find("matching steps", 1, true) then skipped = skipped + 1 return end
    if #failures < 20 then
      failures[#failures + 1] = string.format("%s(%q, %q): stock %s, mine %s", what, s, p, a, b)
    end
  end
end

local inits = { nil, 1, 2, 0, -1, -3, -100, 5, 17, 100 }
for _ = 1, CASES or 20000 do
  local s, p = subject(), pattern()
  local init = inits[random(#inits + 1)]
  compare("find", s, p, run(stock.find, s, p, init), run(mine.find, s, p, init))
  compare("find plain", s, p, run(stock.find, s, p, init, true), run(mine.find, s, p, init, true))
  compare("match", s, p, run(stock.match, s, p, init), run(mine.match, s, p, init))
  compare("gmatch", s, p, run(gmatch_all(stock.gmatch, s, p, init)), run(gmatch_all(mine.gmatch, s, p, init)))
  local repl = pick(replacements)
  local limit = random(4) == 1 and random(-1, 3) or nil
  compare("gsub str", s, p, run(stock.gsub, s, p, repl, limit), run(mine.gsub, s, p, repl, limit))
  local t = pick(tables)
  compare("gsub table", s, p, run(stock.gsub, s, p, t, limit), run(mine.gsub, s, p, t, limit))
  compare("gsub fn", s, p, run(stock.gsub, s, p, function_replacement, limit), run(mine.gsub, s, p, function_replacement, limit))
end
-- Argument errors.
for _, args in ipairs({ { nil, "a" }, { "a" }, { "a", "a", "x" }, { "a", {}, 1 }, { 5, 5 }, { "abc", "b", 1.5 } }) do
  local a, b = args[1], args[2]
  compare("find args", tostring(a), tostring(b), run(stock.find, a, b, args[3]), run(mine.find, a, b, args[3]))
  compare("match args", tostring(a), tostring(b), run(stock.match, a, b, args[3]), run(mine.match, a, b, args[3]))
  compare("gmatch args", tostring(a), tostring(b), run(stock.gmatch, a, b, args[3]) ~= nil and "" or "", "")
  compare("gsub args", tostring(a), tostring(b), run(stock.gsub, a, b, args[3]), run(mine.gsub, a, b, args[3]))
end
compare("gsub bad repl", "abc", "a", run(stock.gsub, "abc", "a", true), run(mine.gsub, "abc", "a", true))
compare("gsub bad n", "abc", "a", run(stock.gsub, "abc", "a", "x", "y"), run(mine.gsub, "abc", "a", "x", "y"))
-- Depth: nested optional items around the stock recursion limit.
for n = 190, 210 do
  local s, p = ("a"):rep(n), ("a?"):rep(n)
  compare("depth", "a*" .. n, "a?*" .. n, run(stock.find, s, p), run(mine.find, s, p))
end
for n = 30, 34 do
  local p = ("()"):rep(n)
  compare("captures", "", p, run(stock.match, "x", p), run(mine.match, "x", p))
end

if #failures > 0 then error(#failures .. " differences in " .. checked .. " comparisons:\n" .. table.concat(failures, "\n"), 0) end
assert(skipped * 100 < checked, "too many comparisons skipped for the step budget: " .. skipped)
return checked .. " comparisons, " .. skipped .. " skipped for the step budget"
"""#
