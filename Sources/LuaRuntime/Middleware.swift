import CLuaShim

/// What a middleware script declares (read when a generation loads).
public struct MiddlewareInfo: Sendable, Equatable {
    /// The script's file name without `.lua`.
    public var name: String
    public var file: String
    /// Lower runs first (default 100); ties by name.
    public var order: Int
    /// Endpoints it applies to (`"chat/completions"`, `"messages"`, …); nil means all.
    public var routes: Set<String>?
    public var hasOnRequest: Bool
    public var hasOnResponse: Bool

    public func applies(to endpoint: String) -> Bool { routes?.contains(endpoint) ?? true }
}

/// A client request as middleware sees it.
public struct MiddlewareRequest: Sendable {
    public var endpoint: String
    public var method: String
    public var path: String
    /// Lower-case names.
    public var headers: [(String, String)]
    /// JSON bytes (decoded into `req.body` for the scripts).
    public var body: [UInt8]?

    public init(endpoint: String, method: String, path: String, headers: [(String, String)], body: [UInt8]?) {
        self.endpoint = endpoint
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// What the `on_request` hooks decided.
public enum MiddlewareDecision: Sendable {
    /// Go on with these (possibly rewritten) headers and body.
    case proceed(headers: [(String, String)], body: [UInt8]?)
    /// Refuse: `return { status = 446, error = "..." }` (Portkey's status for a denied guardrail).
    case deny(status: Int, message: String, type: String?, code: String?)
    /// Answer directly: `return { status = 200, body = {...} }`.
    case respond(status: Int, body: [UInt8])
}

/// The per-request `ctx` table shared by every hook of every middleware, kept in one VM from
/// `on_request` to `on_response`.
public final class MiddlewareSession: Sendable {
    private let pool: LuaPool
    private let vmIndex: Int
    private let contextRef: Int32
    private let middleware: [MiddlewareInfo]

    init(pool: LuaPool, vmIndex: Int, contextRef: Int32, middleware: [MiddlewareInfo]) {
        self.pool = pool
        self.vmIndex = vmIndex
        self.contextRef = contextRef
        self.middleware = middleware
    }

    deinit {
        let ref = contextRef
        try? pool.withVM(at: vmIndex) { vm throws(LuaError) in luaL_unref(vm.state, sb_registryindex(), ref) }
    }

    public var hasOnResponse: Bool { middleware.contains { $0.hasOnResponse } }

    /// Runs every `on_response(ctx, res)` in order; returns the rewritten body (nil: unchanged).
    public func onResponse(status: Int, headers: [(String, String)], body: [UInt8]) throws(LuaError) -> [UInt8]? {
        try pool.withVM(at: vmIndex) { vm throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            lua_createtable(L, 0, 3)
            let res = lua_gettop(L)
            lua_pushinteger(L, lua_Integer(status))
            sb_rawsetfield(L, res, "status")
            lua_createtable(L, 0, Int32(headers.count))
            for (name, value) in headers { vm.setField(name, value) }
            sb_rawsetfield(L, res, "headers")
            guard vm.tryDecodeJSON(body) else { return nil }  // only JSON answers are offered
            sb_rawsetfield(L, res, "body")
            for info in middleware where info.hasOnResponse {
                try vm.pushScriptFunction(info, "on_response")
                lua_rawgeti(L, sb_registryindex(), lua_Integer(contextRef))
                lua_pushvalue(L, res)
                try vm.call(arguments: 2, results: 0, script: info.file)
            }
            switch sb_rawgetfield(L, res, "body") {
            case LUA_TTABLE: return try vm.encodeJSON(at: -1, script: "middleware")
            case LUA_TSTRING: return vm.bytes(at: -1)
            default: return nil
            }
        }
    }
}

extension ScriptGeneration {
    public func hasRequestMiddleware(for endpoint: String) -> Bool {
        middleware.contains { $0.applies(to: endpoint) && ($0.hasOnRequest || $0.hasOnResponse) }
    }

    /// Runs every applicable `on_request(ctx, req)` in order in one VM.
    public func runRequestHooks(_ request: MiddlewareRequest) throws(LuaError) -> (MiddlewareDecision, MiddlewareSession?) {
        let applicable = middleware.filter { $0.applies(to: request.endpoint) }
        let keep = applicable.contains { $0.hasOnResponse }
        let (decision, ref, index) = try pool.withAnyVM { vm, index throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            lua_createtable(L, 0, 4)
            let ctx = lua_gettop(L)
            lua_createtable(L, 0, 5)
            let req = lua_gettop(L)
            vm.setField("endpoint", request.endpoint)
            vm.setField("method", request.method)
            vm.setField("path", request.path)
            lua_createtable(L, 0, Int32(request.headers.count))
            for (name, value) in request.headers { vm.setField(name, value) }
            sb_rawsetfield(L, req, "headers")
            if let body = request.body, vm.tryDecodeJSON(body) { sb_rawsetfield(L, req, "body") }
            var ref: Int32?
            if keep {
                lua_pushvalue(L, ctx)
                ref = luaL_ref(L, sb_registryindex())
            }
            for info in applicable where info.hasOnRequest {
                try vm.pushScriptFunction(info, "on_request")
                lua_pushvalue(L, ctx)
                lua_pushvalue(L, req)
                try vm.call(arguments: 2, results: 1, script: info.file)
                if sb_istable(L, -1) != 0 {
                    let status = vm.integerField(-1, "status") ?? 200
                    switch sb_rawgetfield(L, -1, "body") {
                    case LUA_TTABLE:
                        let bytes = try vm.encodeJSON(at: -1, script: info.file)
                        return (MiddlewareDecision.respond(status: status, body: bytes), ref, index)
                    case LUA_TSTRING:
                        return (MiddlewareDecision.respond(status: status, body: vm.bytes(at: -1) ?? []), ref, index)
                    default:
                        sb_pop(L, 1)
                    }
                    let message = vm.field(-1, "error") ?? vm.field(-1, "message") ?? "\(info.file) denied the request"
                    return (MiddlewareDecision.deny(status: vm.integerField(-1, "status") ?? 446, message: message,
                                                    type: vm.field(-1, "type"), code: vm.field(-1, "code")), ref, index)
                }
                sb_pop(L, 1)
            }
            sb_rawgetfield(L, req, "headers")
            let headers = sb_istable(L, -1) != 0 ? vm.stringMap(at: -1).map { ($0.0.lowercased(), $0.1) } : request.headers
            sb_pop(L, 1)
            var body: [UInt8]?
            switch sb_rawgetfield(L, req, "body") {
            case LUA_TTABLE: body = try vm.encodeJSON(at: -1, script: "middleware")
            case LUA_TSTRING: body = vm.bytes(at: -1)
            default: body = request.body
            }
            return (MiddlewareDecision.proceed(headers: headers, body: body), ref, index)
        }
        guard let ref else { return (decision, nil) }
        return (decision, MiddlewareSession(pool: pool, vmIndex: index, contextRef: ref, middleware: applicable))
    }
}

extension LuaVM {
    /// Pushes `scripts[name][hook]`.
    func pushScriptFunction(_ info: MiddlewareInfo, _ hook: String) throws(LuaError) {
        sb_rawgetfield(state, sb_registryindex(), scriptsKey)
        sb_rawgetfield(state, -1, info.name)
        sb_rawgetfield(state, -1, hook)
        guard lua_type(state, -1) == LUA_TFUNCTION else {
            sb_pop(state, 3)
            throw LuaError(kind: .invalidScript, script: info.file, message: "\(info.file): \(hook) is not a function")
        }
        lua_rotate(state, -3, 1)
        sb_pop(state, 2)
    }
}
