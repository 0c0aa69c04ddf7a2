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
    public var hasOnChunk: Bool = false
    public var hasOnLog: Bool = false

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
    private let pinned: RegistryRef
    private let middleware: [MiddlewareInfo]

    init(pool: LuaPool, vmIndex: Int, contextRef: Int32, middleware: [MiddlewareInfo]) {
        self.pinned = RegistryRef(pool: pool, vmIndex: vmIndex, ref: contextRef)
        self.middleware = middleware
    }

    public var hasOnResponse: Bool { middleware.contains { $0.hasOnResponse } }
    public var hasOnChunk: Bool { middleware.contains { $0.hasOnChunk } }
    public var hasOnLog: Bool { middleware.contains { $0.hasOnLog } }

    /// Runs every `on_chunk(ctx, chunk)` on one streamed event, each on what the previous returned:
    /// nil keeps it, `false` drops it, a table `{data, event}` (e.g. the chunk, edited) or a string
    /// replaces it. Returns the framed bytes for the client (empty when dropped).
    public func onChunk(name: String?, data: [UInt8]) throws(LuaError) -> [UInt8] {
        try pinned.withVM { vm throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            lua_createtable(L, 0, 3)
            var chunk = lua_gettop(L)
            vm.setField("event", name)
            vm.push(bytes: data)
            sb_rawsetfield(L, chunk, "text")
            if vm.tryDecodeJSON(data) {
                // Remember the latest usage for on_log.
                if sb_rawgetfield(L, -1, "usage") == LUA_TTABLE {
                    lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
                    lua_rotate(L, -2, 1)
                    sb_rawsetfield(L, -2, "_stream_usage")
                    sb_pop(L, 1)
                } else {
                    sb_pop(L, 1)
                }
                sb_rawsetfield(L, chunk, "data")
            }
            for info in middleware where info.hasOnChunk {
                try vm.pushScriptFunction(info, "on_chunk")
                lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
                lua_pushvalue(L, chunk)
                try vm.call(arguments: 2, results: 1, script: info.file)
                switch lua_type(L, -1) {
                case LUA_TNIL:
                    sb_pop(L, 1)
                case LUA_TBOOLEAN:
                    if lua_toboolean(L, -1) == 0 { return [] }
                    sb_pop(L, 1)
                case LUA_TSTRING:
                    lua_createtable(L, 0, 1)
                    lua_rotate(L, -2, 1)
                    sb_rawsetfield(L, -2, "data")
                    chunk = lua_gettop(L)
                case LUA_TTABLE:
                    chunk = lua_gettop(L)
                default:
                    throw LuaError(kind: .runtime, script: info.file,
                                   message: "\(info.file): on_chunk must return nil, false, a string or a table")
                }
            }
            // Frame the result: when no hook replaced `data`, the original bytes go out as they came.
            if sb_rawgetfield(L, chunk, "data") == LUA_TNIL {
                sb_pop(L, 1)
                sb_rawgetfield(L, chunk, "text")
                sb_rawsetfield(L, chunk, "data")
            } else {
                sb_pop(L, 1)
            }
            lua_createtable(L, 1, 0)
            lua_pushvalue(L, chunk)
            lua_rawseti(L, -2, 1)
            let scripts = middleware.filter(\.hasOnChunk).map(\.file).joined(separator: ", ")
            return try vm.frameEvents(at: lua_gettop(L), script: scripts)
        }
    }

    /// Facts for `on_log(ctx, entry)`.
    public struct LogEntry: Sendable {
        public var status: Int
        public var latencyMilliseconds: Double
        public var provider: String?
        public var endpoint: String
        public var stream: Bool
        /// The complete JSON answer (usage is read from it); nil for streams (the last usage seen
        /// in the stream is used).
        public var body: [UInt8]?

        public init(status: Int, latencyMilliseconds: Double, provider: String?, endpoint: String, stream: Bool, body: [UInt8]?) {
            self.status = status
            self.latencyMilliseconds = latencyMilliseconds
            self.provider = provider
            self.endpoint = endpoint
            self.stream = stream
            self.body = body
        }
    }

    /// Runs every `on_log(ctx, entry)` after the request completed; failures are returned for the
    /// caller to log (the answer is already on its way).
    public func onLog(_ entry: LogEntry) -> LuaError? {
        do throws(LuaError) {
            try pinned.withVM { vm throws(LuaError) in
                let L = vm.state
                let base = lua_gettop(L)
                defer { lua_settop(L, base) }
                lua_createtable(L, 0, 7)
                let table = lua_gettop(L)
                lua_pushinteger(L, lua_Integer(entry.status))
                sb_rawsetfield(L, table, "status")
                lua_pushnumber(L, entry.latencyMilliseconds)
                sb_rawsetfield(L, table, "latency_ms")
                vm.setField("provider", entry.provider, in: -2)
                vm.setField("endpoint", entry.endpoint, in: -2)
                lua_pushboolean(L, entry.stream ? 1 : 0)
                sb_rawsetfield(L, table, "stream")
                if let body = entry.body, vm.tryDecodeJSON(body) {
                    sb_rawgetfield(L, -1, "usage")
                    sb_rawsetfield(L, table, "usage")
                    sb_pop(L, 1)
                } else {
                    lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
                    sb_rawgetfield(L, -1, "_stream_usage")
                    sb_rawsetfield(L, table, "usage")
                    sb_pop(L, 1)
                }
                for info in middleware where info.hasOnLog {
                    try vm.pushScriptFunction(info, "on_log")
                    lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
                    lua_pushvalue(L, table)
                    try vm.call(arguments: 2, results: 0, script: info.file)
                }
            }
            return nil
        } catch {
            return error
        }
    }

    /// Runs every `on_response(ctx, res)` in order; returns the rewritten body (nil: unchanged).
    public func onResponse(status: Int, headers: [(String, String)], body: [UInt8]) throws(LuaError) -> [UInt8]? {
        try pinned.withVM { vm throws(LuaError) in
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
                lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
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
        middleware.contains { $0.applies(to: endpoint) && ($0.hasOnRequest || $0.hasOnResponse || $0.hasOnChunk || $0.hasOnLog) }
    }

    /// Runs every applicable `on_request(ctx, req)` in order in one VM.
    public func runRequestHooks(_ request: MiddlewareRequest) throws(LuaError) -> (MiddlewareDecision, MiddlewareSession?) {
        let applicable = middleware.filter { $0.applies(to: request.endpoint) }
        let keep = applicable.contains { $0.hasOnResponse || $0.hasOnChunk || $0.hasOnLog }
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
                    let status = try vm.statusField(-1, script: info.file, what: "on_request")
                    switch sb_rawgetfield(L, -1, "body") {
                    case LUA_TTABLE:
                        let bytes = try vm.encodeJSON(at: -1, script: info.file)
                        return (MiddlewareDecision.respond(status: status ?? 200, body: bytes), ref, index)
                    case LUA_TSTRING:
                        return (MiddlewareDecision.respond(status: status ?? 200, body: vm.bytes(at: -1) ?? []), ref, index)
                    default:
                        sb_pop(L, 1)
                    }
                    let message = vm.field(-1, "error") ?? vm.field(-1, "message") ?? "\(info.file) denied the request"
                    return (MiddlewareDecision.deny(status: status ?? 446, message: message,
                                                    type: vm.field(-1, "type"), code: vm.field(-1, "code")), ref, index)
                }
                sb_pop(L, 1)
            }
            sb_rawgetfield(L, req, "headers")
            let headers = sb_istable(L, -1) != 0 ? vm.stringMap(at: -1).map { ($0.0.lowercased(), $0.1) } : request.headers
            sb_pop(L, 1)
            // Rewritten headers travel upstream (passthrough copies them): no line break may split it.
            if let problem = WireSyntax.headersProblem(headers) {
                let scripts = applicable.filter(\.hasOnRequest).map(\.file).joined(separator: ", ")
                throw LuaError(kind: .runtime, script: scripts,
                               message: "\(scripts): on_request left req.headers with \(problem)")
            }
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
