import CLuaShim

/// An endpoint a script handles itself: `handlers = { ["POST /v1/compare"] = function(req) ... end }`.
public struct ScriptedRouteInfo: Sendable, Equatable {
    /// `"POST /v1/compare"`.
    public var key: String
    public var script: String
    public var file: String
}

/// One run of a scripted route: the handler is a coroutine kept in one VM; each `gw.route` /
/// `gw.fetch` yields a call for the host to perform (without blocking a thread), and `resume`
/// continues the handler with the result.
public final class ScriptedRouteRun: Sendable {
    public enum Step: Sendable {
        /// The handler asks for a call: `kind` is "route" or "fetch", `request` its JSON.
        case call(kind: String, request: [UInt8])
        /// The handler returned its answer.
        case done(status: Int, headers: [(String, String)], body: [UInt8])
    }

    private let pinned: RegistryRef
    private let info: ScriptedRouteInfo

    init(pool: LuaPool, vmIndex: Int, threadRef: Int32, info: ScriptedRouteInfo) {
        self.pinned = RegistryRef(pool: pool, vmIndex: vmIndex, ref: threadRef)
        self.info = info
    }

    /// Starts the handler with `req = {method, path, query, headers, body}` (body decoded when JSON).
    public static func start(_ generation: ScriptGeneration, route info: ScriptedRouteInfo, method: String, path: String,
                             query: String, headers: [(String, String)], body: [UInt8]?) throws(LuaError) -> (ScriptedRouteRun, Step) {
        let (ref, index, step) = try generation.pool.withAnyVM { vm, index throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            guard let co = lua_newthread(L) else { throw LuaError(kind: .memory, script: info.file, message: "no coroutine") }
            lua_pushvalue(L, -1)
            let ref = luaL_ref(L, sb_registryindex())
            // handler
            sb_rawgetfield(L, sb_registryindex(), scriptsKey)
            sb_rawgetfield(L, -1, info.script)
            sb_rawgetfield(L, -1, "handlers")
            sb_rawgetfield(L, -1, info.key)
            guard lua_type(L, -1) == LUA_TFUNCTION else {
                luaL_unref(L, sb_registryindex(), ref)
                throw LuaError(kind: .invalidScript, script: info.file, message: "\(info.file): handler for \(info.key) is gone")
            }
            lua_xmove(L, co, 1)
            // req
            lua_createtable(L, 0, 5)
            vm.setField("method", method)
            vm.setField("path", path)
            vm.setField("query", query)
            lua_createtable(L, 0, Int32(headers.count))
            for (name, value) in headers { vm.setField(name, value) }
            sb_rawsetfield(L, -2, "headers")
            if let body {
                vm.push(bytes: body)
                sb_rawsetfield(L, -2, "text")
                if vm.tryDecodeJSON(body) { sb_rawsetfield(L, -2, "body") }
            }
            lua_xmove(L, co, 1)
            let step = try vm.resume(co, arguments: 1, info: info)
            return (ref, index, step)
        }
        return (ScriptedRouteRun(pool: generation.pool, vmIndex: index, threadRef: ref, info: info), step)
    }

    /// Continues the handler with the result of its call (JSON).
    public func resume(with result: [UInt8]) throws(LuaError) -> Step {
        let info = self.info
        return try pinned.resumeCoroutine(with: result, script: info.file) { vm, co throws(LuaError) in
            try vm.resume(co, arguments: 1, info: info)
        }
    }
}

extension LuaVM {
    /// Resumes `co` and reads what it yielded or returned.
    fileprivate func resume(_ co: OpaquePointer, arguments: Int32, info: ScriptedRouteInfo) throws(LuaError) -> ScriptedRouteRun.Step {
        let L = state
        var results: Int32 = 0
        let status = sb_resume(L, co, arguments, &results, UInt64(limits.instructionBudget))
        switch status {
        case LUA_YIELD:
            let call = try yieldedCall(co, results: results, script: info.file, who: "the handler")
            return .call(kind: call.kind, request: call.request)
        case LUA_OK:
            guard results >= 1 else {
                throw LuaError(kind: .runtime, script: info.file, message: "\(info.file): the handler for \(info.key) returned nothing")
            }
            lua_settop(co, 1)
            lua_xmove(co, L, 1)
            defer { sb_pop(L, 1) }
            guard sb_istable(L, -1) != 0 else {
                throw LuaError(kind: .runtime, script: info.file,
                               message: "\(info.file): the handler for \(info.key) must return { status, headers, body }")
            }
            let status = try statusField(-1, script: info.file, what: "the handler for \(info.key)") ?? 200
            var headers: [(String, String)] = []
            if sb_rawgetfield(L, -1, "headers") == LUA_TTABLE { headers = stringMap(at: -1) }
            sb_pop(L, 1)
            if let problem = WireSyntax.headersProblem(headers) {
                throw LuaError(kind: .runtime, script: info.file,
                               message: "\(info.file): the handler for \(info.key) returned \(problem)")
            }
            var body: [UInt8] = []
            switch sb_rawgetfield(L, -1, "body") {
            case LUA_TTABLE:
                body = try encodeJSON(at: -1, script: info.file)
                if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { headers.append(("content-type", "application/json")) }
            case LUA_TSTRING: body = bytes(at: -1) ?? []
            default: break
            }
            sb_pop(L, 1)
            return .done(status: status, headers: headers, body: body)
        default:
            lua_xmove(co, L, 1)
            throw popError(status: status, script: info.file)
        }
    }
}
