import CLuaShim

/// The Lua side of one request to a translating provider: the `ctx` table that `prepare` saw,
/// kept in the VM that ran it, so `response(ctx, res)` and `stream(ctx, event)` see whatever
/// `prepare` stored there (the model asked for, whether usage was requested, the stream's state).
///
/// Each call locks that one VM for the call only, so other requests keep using it in between. The
/// session holds the pool, so a reload does not close the VM under a stream in flight; `ctx` is
/// released when the session goes away.
public final class ProviderSession: Sendable {
    public let info: ProviderInfo
    private let pinned: RegistryRef
    /// The converter wrapped around the provider (see `PrepareContext.converter`).
    public let converter: ConverterInfo?

    init(info: ProviderInfo, pool: LuaPool, vmIndex: Int, contextRef: Int32, converter: ConverterInfo?) {
        self.info = info
        self.pinned = RegistryRef(pool: pool, vmIndex: vmIndex, ref: contextRef)
        self.converter = converter
    }

    /// Whether complete answers go through Lua (the provider's translation or the converter's).
    public var translatesResponses: Bool { info.translatesResponses || converter != nil }
    /// Whether event streams go through Lua.
    public var translatesStreams: Bool { info.translatesStreams || converter != nil }

    /// Pushes the function to call for `name` and its leading arguments: `provider.name, ctx` or,
    /// with a converter, `converter.name, ctx, provider`. Returns how many arguments it pushed.
    private func pushHook(_ vm: LuaVM, _ name: String) throws(LuaError) -> Int32 {
        let L = vm.state
        if let converter {
            try vm.pushModuleFunction(converter.module, name, script: converter.file)
            lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
            sb_rawgetfield(L, sb_registryindex(), providersKey)
            sb_rawgetfield(L, -1, info.id)
            lua_rotate(L, -2, 1)
            sb_pop(L, 1)
            return 2
        }
        try vm.pushProviderFunction(info, name)
        lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
        return 1
    }

    private var script: String { converter?.file ?? info.file }

    /// A complete upstream response as the script returns it.
    public struct Response: Sendable {
        /// Replacement status, when the script sets one.
        public var status: Int?
        public var body: [UInt8]
    }

    /// Calls `response(ctx, res)` with `res = {status, headers, body, text}`: `body` is the decoded
    /// JSON (nil when the bytes are not JSON), `text` the raw bytes.
    public func response(status: Int, headers: [(String, String)], body: [UInt8]) throws(LuaError) -> Response {
        try pinned.withVM { vm throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            let leading = try pushHook(vm, "response")
            vm.push(UpstreamAnswer(status: status, headers: headers, body: body))
            try vm.call(arguments: leading + 1, results: 1, script: script)
            guard sb_istable(L, -1) != 0 else {
                throw LuaError(kind: .runtime, script: script,
                               message: "\(script): response must return a table with a body")
            }
            let status = try vm.statusField(-1, script: script, what: "response")
            let body: [UInt8]
            switch sb_rawgetfield(L, -1, "body") {
            case LUA_TSTRING:
                body = vm.bytes(at: -1) ?? []
            case LUA_TTABLE:
                body = try vm.encodeJSON(at: -1, script: script)
            default:
                throw LuaError(kind: .runtime, script: script, message: "\(script): response returned no body")
            }
            return Response(status: status, body: body)
        }
    }

    /// Calls the provider's `error(ctx, res)` with this request's `ctx`.
    func classifyError(_ answer: UpstreamAnswer) throws(LuaError) -> UpstreamErrorVerdict? {
        try pinned.withVM { vm throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            try vm.pushProviderFunction(info, "error")
            lua_rawgeti(L, sb_registryindex(), lua_Integer(pinned.ref))
            return try vm.callErrorHook(answer, arguments: 1, script: info.file)
        }
    }

    /// Calls `stream(ctx, event)` for one upstream event, or with `nil` when the upstream stream
    /// ended (`truncated` when it ended inside an event), and returns the client's bytes: each item
    /// the script returns becomes one event, `data: <JSON or string>` with an `event:` line when
    /// the item names one.
    public func stream(event: (name: String?, data: [UInt8])?, truncated: Bool = false) throws(LuaError) -> [UInt8] {
        try pinned.withVM { vm throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            let leading = try pushHook(vm, "stream")
            if let event {
                lua_createtable(L, 0, 3)
                vm.setField("event", event.name)
                vm.push(bytes: event.data)
                sb_rawsetfield(L, -2, "text")
                if vm.tryDecodeJSON(event.data) { sb_rawsetfield(L, -2, "data") }
            } else {
                lua_createtable(L, 0, 2)
                lua_pushboolean(L, 1)
                sb_rawsetfield(L, -2, "done")
                lua_pushboolean(L, truncated ? 1 : 0)
                sb_rawsetfield(L, -2, "truncated")
            }
            try vm.call(arguments: leading + 1, results: 1, script: script)
            if sb_isnil(L, -1) != 0 { return [] }
            guard sb_istable(L, -1) != 0 else {
                throw LuaError(kind: .runtime, script: script,
                               message: "\(script): stream must return a list of events or nil")
            }
            return try vm.frameEvents(at: lua_gettop(L), script: script)
        }
    }
}

extension LuaVM {
    /// Pushes `providers[id][name]`, which the generation checked exists.
    func pushProviderFunction(_ info: ProviderInfo, _ name: String) throws(LuaError) {
        sb_rawgetfield(state, sb_registryindex(), providersKey)
        sb_rawgetfield(state, -1, info.id)
        sb_rawgetfield(state, -1, name)
        guard lua_type(state, -1) == LUA_TFUNCTION else {
            throw LuaError(kind: .invalidScript, script: info.file, message: "\(info.file): \(name) is not a function")
        }
        lua_rotate(state, -3, 1)  // function below the two tables
        sb_pop(state, 2)
    }

    func push(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            _ = buffer.withMemoryRebound(to: CChar.self) { lua_pushlstring(state, $0.baseAddress, $0.count) }
        }
    }

    /// Decodes JSON and pushes it; pushes nothing and returns false when the bytes are not JSON.
    func tryDecodeJSON(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return false }
        do throws(LuaError) {
            try decodeJSON(bytes, script: "json")
            return true
        } catch {
            return false
        }
    }

    /// Frames the list at `index` as server-sent events.
    func frameEvents(at index: Int32, script: String) throws(LuaError) -> [UInt8] {
        var out: [UInt8] = []
        let count = lua_rawlen(state, index)
        guard count > 0 else { return out }
        for position in 1...count {
            lua_rawgeti(state, index, lua_Integer(position))
            defer { sb_pop(state, 1) }
            let item = lua_gettop(state)
            var payload: [UInt8]
            if let text = bytes(at: item) {
                payload = text
            } else if sb_istable(state, item) != 0 {
                if let name = field(item, "event") {
                    if let problem = WireSyntax.sseFieldProblem(name, field: "name") {
                        throw LuaError(kind: .runtime, script: script,
                                       message: "\(script): stream event \(position): \(problem) (it would start another field or event)")
                    }
                    out.append(contentsOf: "event: ".utf8)
                    out.append(contentsOf: name.utf8)
                    out.append(10)
                }
                switch sb_rawgetfield(state, item, "data") {
                case LUA_TSTRING: payload = bytes(at: -1) ?? []
                case LUA_TTABLE: payload = try encodeJSON(at: -1, script: script)
                default:
                    throw LuaError(kind: .runtime, script: script,
                                   message: "\(script): stream event \(position) has no data (a string or a table)")
                }
                sb_pop(state, 1)
            } else {
                throw LuaError(kind: .runtime, script: script,
                               message: "\(script): stream event \(position) must be a string or a table")
            }
            // One `data:` line: a line break inside would end the field and could start an event.
            if let problem = WireSyntax.sseFieldProblem(payload, field: "data") {
                throw LuaError(kind: .runtime, script: script,
                               message: "\(script): stream event \(position): \(problem) (it would start another field or event)")
            }
            out.append(contentsOf: "data: ".utf8)
            out.append(contentsOf: payload)
            out.append(contentsOf: "\n\n".utf8)
        }
        return out
    }
}
