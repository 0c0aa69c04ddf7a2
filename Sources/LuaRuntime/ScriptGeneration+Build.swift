import CLuaShim
public import Logging

/// Every problem found while building a generation, each naming its file.
public struct GenerationError: Error, Sendable, CustomStringConvertible {
    public var problems: [LuaError]
    public var description: String { problems.map(\.message).joined(separator: "\n") }
    public init(problems: [LuaError]) { self.problems = problems }
}

let providersKey = "switchboard.providers"
let scriptsKey = "switchboard.scripts"

extension ScriptGeneration {
    /// Builds a generation: every VM loads every library, provider and script; any failure anywhere
    /// rejects the whole generation, so a broken file never replaces a working one.
    public static func build(
        number: Int, sources: ScriptSources, vmCount: Int, limits: LuaLimits, logger: Logger
    ) throws(GenerationError) -> ScriptGeneration {
        var problems: [LuaError] = []
        for file in sources.providers where !isValidID(file.name) {
            problems.append(LuaError(
                kind: .invalidScript, script: file.displayPath,
                message: "\(file.displayPath): provider ids (file names) use only a-z, 0-9, '-', '_' and '.'"))
        }
        var vms: [LuaVM] = []
        var catalog: [String: ProviderInfo] = [:]
        var middleware: [MiddlewareInfo] = []
        var scriptedRoutes: [String: ScriptedRouteInfo] = [:]
        for index in 0..<max(1, vmCount) {
            let vm: LuaVM
            do throws(LuaError) {
                vm = try LuaVM(limits: limits, logger: logger)
            } catch {
                throw GenerationError(problems: [error])
            }
            let vmProblems = load(sources, into: vm, recordInto: &catalog, middleware: &middleware,
                                  routes: &scriptedRoutes, record: index == 0)
            if index == 0 {
                problems.append(contentsOf: vmProblems)
                if !problems.isEmpty { throw GenerationError(problems: problems) }
            } else if !vmProblems.isEmpty {
                throw GenerationError(problems: vmProblems)
            }
            vms.append(vm)
        }
        middleware.sort { ($0.order, $0.name) < ($1.order, $1.name) }
        return ScriptGeneration(
            number: number, providers: catalog, scripts: sources.scripts.map(\.displayPath),
            libraries: sources.libraries.map(\.name), middleware: middleware, scriptedRoutes: scriptedRoutes,
            pool: LuaPool(vms: vms))
    }

    /// Runs a file and leaves the table it returned on the stack, or throws naming the file.
    private static func runTable(_ file: ScriptSources.File, in vm: LuaVM, kind: String) throws(LuaError) {
        try vm.runChunk(source: file.source, chunkName: file.displayPath)
        guard sb_istable(vm.state, -1) != 0 else {
            sb_pop(vm.state, 1)
            throw LuaError(kind: .invalidScript, script: file.displayPath,
                           message: "\(file.displayPath): \(kind) must return a table")
        }
    }

    private static func isValidID(_ id: String) -> Bool {
        guard let first = id.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else { return false }
        return id.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
                || byte == 0x2E
        }
    }

    /// Loads everything into one VM and returns the problems found. With `catalog`, also records
    /// what each provider declares.
    private static func load(
        _ sources: ScriptSources, into vm: LuaVM, recordInto catalog: inout [String: ProviderInfo],
        middleware: inout [MiddlewareInfo], routes handlers: inout [String: ScriptedRouteInfo], record: Bool
    ) -> [LuaError] {
        let L = vm.state
        var problems: [LuaError] = []
        for library in sources.libraries {
            vm.registerLibrary(name: library.name, source: library.source, chunkName: library.displayPath)
        }
        sb_newtable(L)
        let providers = lua_gettop(L)
        for file in sources.providers {
            do throws(LuaError) {
                try runTable(file, in: vm, kind: "a provider script")
                guard vm.hasFunction(-1, "prepare") else {
                    sb_pop(L, 1)
                    throw LuaError(kind: .invalidScript, script: file.displayPath,
                                   message: "\(file.displayPath): the provider table has no prepare(ctx) function")
                }
                if let problem = hostSettingsProblem(vm, "host_settings") ?? hostSettingsProblem(vm, "credential_settings") {
                    sb_pop(L, 1)
                    throw LuaError(kind: .invalidScript, script: file.displayPath, message: "\(file.displayPath): \(problem)")
                }
                if record {
                    catalog[file.name] = ProviderInfo(
                        id: file.name,
                        name: vm.field(-1, "name") ?? file.name,
                        baseURL: vm.field(-1, "base_url"),
                        endpoints: Set(vm.stringList(-1, "endpoints") ?? ProviderInfo.standardEndpoints),
                        requiresKey: vm.booleanField(-1, "requires_key") ?? true,
                        decodesBody: vm.booleanField(-1, "decode_body") ?? false,
                        translatesResponses: vm.hasFunction(-1, "response"),
                        translatesStreams: vm.hasFunction(-1, "stream"),
                        file: file.displayPath,
                        hostSettings: Set(vm.stringList(-1, "host_settings") ?? []),
                        credentialSettings: Set(vm.stringList(-1, "credential_settings") ?? []))
                }
                sb_rawsetfield(L, providers, file.name)
            } catch {
                problems.append(error)
            }
        }
        sb_rawsetfield(L, sb_registryindex(), providersKey)

        sb_newtable(L)
        let scripts = lua_gettop(L)
        for file in sources.scripts {
            do throws(LuaError) {
                try runTable(file, in: vm, kind: "a script")
                if record {
                    var routes: Set<String>?
                    if let list = vm.stringList(-1, "routes") { routes = Set(list) }
                    middleware.append(MiddlewareInfo(
                        name: file.name, file: file.displayPath, order: vm.integerField(-1, "order") ?? 100, routes: routes,
                        hasOnRequest: vm.hasFunction(-1, "on_request"), hasOnResponse: vm.hasFunction(-1, "on_response"),
                        hasOnChunk: vm.hasFunction(-1, "on_chunk"), hasOnLog: vm.hasFunction(-1, "on_log")))
                    if sb_rawgetfield(L, -1, "handlers") == LUA_TTABLE {
                        for (key, _) in vm.functionKeys(at: -1) {
                            let parts = key.split(separator: " ", maxSplits: 1)
                            guard parts.count == 2, ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(parts[0]),
                                  parts[1].hasPrefix("/v1/") else {
                                sb_pop(L, 2)
                                throw LuaError(kind: .invalidScript, script: file.displayPath,
                                               message: "\(file.displayPath): handler key '\(key)' must be 'METHOD /v1/path'")
                            }
                            if let other = handlers[key] {
                                sb_pop(L, 2)
                                throw LuaError(kind: .invalidScript, script: file.displayPath,
                                               message: "\(file.displayPath): \(key) is already handled by \(other.file)")
                            }
                            handlers[key] = ScriptedRouteInfo(key: key, script: file.name, file: file.displayPath)
                        }
                    }
                    sb_pop(L, 1)
                }
                sb_rawsetfield(L, scripts, file.name)
            } catch {
                problems.append(error)
            }
        }
        sb_rawsetfield(L, sb_registryindex(), scriptsKey)
        return problems
    }
}

extension ScriptGeneration {
    /// Runs the provider's `prepare(ctx)` and returns the upstream request it built.
    public func prepare(provider id: String, context: PrepareContext) throws(LuaError) -> PreparedRequest {
        try begin(provider: id, context: context).request
    }

    /// Runs `prepare(ctx)`; for a provider that translates responses or streams, also returns the
    /// session that keeps `ctx` alive in the same VM for `response`/`stream` calls.
    public func begin(provider id: String, context: PrepareContext) throws(LuaError) -> (request: PreparedRequest, session: ProviderSession?) {
        guard let info = providers[id] else {
            throw LuaError(kind: .invalidScript, message: "unknown provider '\(id)'")
        }
        let keep = info.translatesResponses || info.translatesStreams || context.dialect != nil
        let (request, ref, index) = try pool.withAnyVM { vm, index throws(LuaError) in
            let (request, ref) = try vm.callPrepare(info: info, context: context, keepContext: keep)
            return (request, ref, index)
        }
        guard let ref else { return (request, nil) }
        return (request, ProviderSession(info: info, pool: pool, vmIndex: index, contextRef: ref, dialect: context.dialect))
    }
}

extension LuaVM {
    fileprivate func callPrepare(info: ProviderInfo, context: PrepareContext, keepContext: Bool) throws(LuaError)
        -> (PreparedRequest, Int32?)
    {
        let L = state
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        sb_rawgetfield(L, sb_registryindex(), providersKey)
        sb_rawgetfield(L, -1, info.id)
        sb_rawgetfield(L, -1, "prepare")

        lua_createtable(L, 0, 10)
        setField("endpoint", context.endpoint)
        setField("method", context.method)
        setField("path", context.path)
        setField("query", context.query)
        setField("custom_host", context.customHost)
        setField("api_key", context.apiKey)
        setField("model", context.model)
        lua_createtable(L, 0, Int32(context.settings.count))
        for (key, value) in context.settings { setField(key, value) }
        sb_rawsetfield(L, -2, "settings")
        let ctxIndex = lua_gettop(L)
        if let fetched = context.fetched {
            lua_createtable(L, 0, Int32(fetched.count))
            for (url, image) in fetched {
                lua_createtable(L, 0, 2)
                setField("media_type", image.mediaType)
                setField("data", image.base64)
                sb_rawsetfield(L, -2, url)
            }
            sb_rawsetfield(L, ctxIndex, "fetched")
        }
        var dialectBody: [UInt8]?
        if let dialect = context.dialect {
            // The client spoke another dialect: its module turns the body into a chat request
            // first, and the provider sees a chat/completions call.
            let script = "providers/lib/\(dialect).lua"
            try pushDialectFunction(dialect, "request", script: script)
            lua_pushvalue(L, ctxIndex)
            try decodeJSON(context.body ?? [], script: script)
            try call(arguments: 2, results: 1, script: script)
            guard sb_istable(L, -1) != 0 else {
                throw LuaError(kind: .runtime, script: script, message: "\(script): request(ctx, body) must return a table")
            }
            let model = field(-1, "model")
            if info.decodesBody {
                sb_rawsetfield(L, ctxIndex, "body")  // the provider translates it further
            } else {
                dialectBody = try encodeJSON(at: -1, script: script)  // sent as is
                sb_pop(L, 1)
            }
            setField("endpoint", "chat/completions")
            setField("path", "/chat/completions")
            setField("model", model)
            setField("dialect", dialect)
        } else if info.decodesBody, let body = context.body {
            try decodeJSON(body, script: info.file)
            sb_rawsetfield(L, -2, "body")
        }

        var contextRef: Int32?
        if keepContext {
            lua_pushvalue(L, -1)
            contextRef = luaL_ref(L, sb_registryindex())
        }
        var succeeded = false
        defer { if !succeeded, let contextRef { luaL_unref(L, sb_registryindex(), contextRef) } }
        try call(arguments: 1, results: 1, script: info.file)
        guard sb_istable(L, -1) != 0 else {
            throw LuaError(kind: .runtime, script: info.file,
                           message: "\(info.file): prepare(ctx) must return a table with url and headers")
        }
        if let fetch = stringList(-1, "fetch"), !fetch.isEmpty {
            succeeded = true
            var request = PreparedRequest(url: "", method: nil, headers: [], body: nil)
            request.fetch = fetch
            return (request, contextRef)
        }
        if context.dialect == nil, let dialect = field(-1, "dialect") {
            succeeded = true
            var request = PreparedRequest(url: "", method: nil, headers: [], body: nil)
            request.dialect = dialect
            return (request, contextRef)
        }
        guard let url = field(-1, "url") else {
            throw LuaError(kind: .runtime, script: info.file, message: "\(info.file): prepare(ctx) returned no url")
        }
        // The upstream request line is written from these: no line break, space or control byte.
        if let problem = WireSyntax.targetProblem(url) {
            throw LuaError(kind: .runtime, script: info.file, message: "\(info.file): prepare(ctx) returned a url where \(problem)")
        }
        let method = field(-1, "method")
        if let method, let problem = WireSyntax.methodProblem(method) {
            throw LuaError(kind: .runtime, script: info.file, message: "\(info.file): prepare(ctx) returned a method where \(problem)")
        }
        var headers: [PreparedRequest.Header] = []
        if sb_rawgetfield(L, -1, "headers") == LUA_TTABLE {
            for (name, value) in stringMap(at: -1) {
                // The upstream client writes headers unvalidated: a script must not smuggle a line
                // break (header injection) or a name HTTP cannot carry.
                if WireSyntax.headerNameProblem(name) != nil {
                    throw LuaError(kind: .runtime, script: info.file,
                                   message: "\(info.file): prepare(ctx) returned an invalid header name \(name.debugDescription)")
                }
                if let problem = WireSyntax.headerValueProblem(value) {
                    throw LuaError(kind: .runtime, script: info.file,
                                   message: "\(info.file): header '\(name)' returned by prepare(ctx): \(problem)")
                }
                headers.append(.init(name: name.lowercased(), value: value))
            }
        }
        sb_pop(L, 1)
        var body: [UInt8]?
        switch sb_rawgetfield(L, -1, "body") {
        case LUA_TSTRING:
            body = bytes(at: -1)
        case LUA_TTABLE:
            body = try encodeJSON(at: -1, script: info.file)
        default:
            break
        }
        sb_pop(L, 1)
        if body == nil, let dialectBody { body = dialectBody }
        var prepared = PreparedRequest(url: url, method: method, headers: headers, body: body)
        if let translate = booleanField(-1, "translate") { prepared.translate = translate }
        succeeded = true
        return (prepared, contextRef)
    }

    /// Pushes `require(dialect)[name]`.
    func pushDialectFunction(_ dialect: String, _ name: String, script: String) throws(LuaError) {
        let L = state
        lua_getglobal(L, "require")
        push(dialect)
        try call(arguments: 1, results: 1, script: script)
        sb_rawgetfield(L, -1, name)
        guard lua_type(L, -1) == LUA_TFUNCTION else {
            sb_pop(L, 2)
            throw LuaError(kind: .invalidScript, script: script, message: "\(script): \(name) is not a function")
        }
        lua_rotate(L, -2, 1)
        sb_pop(L, 1)
    }
}
