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
    /// Builds a generation: a VM loads every library, provider and script; any failure anywhere
    /// rejects the whole generation, so a broken file never replaces a working one. The pool's other
    /// VMs (up to `vmCount`) load the same when first needed.
    public static func build(
        number: Int, sources: ScriptSources, vmCount: Int, limits: LuaLimits, logger: Logger, store: ScriptStore? = nil
    ) throws(GenerationError) -> ScriptGeneration {
        var problems: [LuaError] = []
        for file in sources.providers where !isValidID(file.name) {
            problems.append(LuaError(
                kind: .invalidScript, script: file.displayPath,
                message: "\(file.displayPath): provider ids (file names) use only a-z, 0-9, '-', '_' and '.'"))
        }
        var catalog: [String: ProviderInfo] = [:]
        var middleware: [MiddlewareInfo] = []
        var scriptedRoutes: [String: ScriptedRouteInfo] = [:]
        var converters: [ConverterInfo] = []
        var plugins: [String: PluginInfo] = [:]
        for file in sources.plugins where !isValidPluginID(file.name) {
            problems.append(LuaError(
                kind: .invalidScript, script: file.displayPath,
                message: "\(file.displayPath): plugin folders and file names use only letters, digits, '-' and '_'"))
        }
        // The first VM loads and checks everything and records what the scripts declare; the
        // pool builds the others (the same loads) when it needs them (LuaPool).
        let vm: LuaVM
        do throws(LuaError) {
            vm = try LuaVM(limits: limits, logger: logger, store: store)
        } catch {
            throw GenerationError(problems: [error])
        }
        problems += load(sources, into: vm, recordInto: &catalog, middleware: &middleware,
                         routes: &scriptedRoutes, converters: &converters, record: true)
        problems += loadPlugins(sources.plugins, into: vm, recordInto: &plugins, record: true)
        if !problems.isEmpty { throw GenerationError(problems: problems) }
        let makeVM: @Sendable () -> LuaVM? = {
            let vm: LuaVM
            do throws(LuaError) {
                vm = try LuaVM(limits: limits, logger: logger, store: store)
            } catch {
                logger.error("could not build another Lua VM: \(error.message)")
                return nil
            }
            var catalog: [String: ProviderInfo] = [:], middleware: [MiddlewareInfo] = []
            var routes: [String: ScriptedRouteInfo] = [:], converters: [ConverterInfo] = [], plugins: [String: PluginInfo] = [:]
            let problems = load(sources, into: vm, recordInto: &catalog, middleware: &middleware, routes: &routes,
                                converters: &converters, record: false)
                + loadPlugins(sources.plugins, into: vm, recordInto: &plugins, record: false)
            if let problem = problems.first {
                logger.error("could not build another Lua VM: \(problem.message)")
                return nil
            }
            return vm
        }
        middleware.sort { ($0.order, $0.name) < ($1.order, $1.name) }
        return ScriptGeneration(
            number: number, providers: catalog, scripts: sources.scripts.map(\.displayPath),
            libraries: sources.libraries.map(\.name), middleware: middleware, scriptedRoutes: scriptedRoutes,
            converters: converters, plugins: plugins, pool: LuaPool(vms: [vm], capacity: max(1, vmCount), makeVM: makeVM))
    }

    private static func isValidPluginID(_ id: String) -> Bool {
        let parts = id.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { part in
            !part.isEmpty && part.utf8.allSatisfy { byte in
                (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
            }
        }
    }

    /// Loads every check plugin into `gw.plugins[id]` (and, with `record`, reads what each declares).
    private static func loadPlugins(_ files: [ScriptSources.File], into vm: LuaVM,
                                    recordInto plugins: inout [String: PluginInfo], record: Bool) -> [LuaError] {
        let L = vm.state
        var problems: [LuaError] = []
        lua_getglobal(L, "gw")
        sb_newtable(L)
        let table = lua_gettop(L)
        for file in files {
            do throws(LuaError) {
                try runTable(file, in: vm, kind: "a check plugin")
                let info: PluginInfo
                do throws(LuaError) {
                    info = try vm.pluginInfo(file)
                } catch {
                    sb_pop(L, 1)
                    throw error
                }
                if record { plugins[file.name] = info }
                sb_rawsetfield(L, table, file.name)
            } catch {
                problems.append(error)
            }
        }
        sb_rawsetfield(L, -2, pluginsField)
        sb_pop(L, 1)
        return problems
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
        middleware: inout [MiddlewareInfo], routes handlers: inout [String: ScriptedRouteInfo],
        converters: inout [ConverterInfo], record: Bool
    ) -> [LuaError] {
        let L = vm.state
        var problems: [LuaError] = []
        for library in sources.libraries {
            vm.registerLibrary(name: library.name, source: library.source, chunkName: library.displayPath)
        }
        if record {
            for library in sources.libraries where library.name.contains("_to_") {
                do throws(LuaError) {
                    converters.append(try vm.converterInfo(library))
                } catch {
                    problems.append(error)
                }
            }
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
                let translates = vm.hasFunction(-1, "response") || vm.hasFunction(-1, "stream")
                let endpoints: [String: EndpointMode]
                switch endpointTable(vm, translates: translates, hasAuth: vm.hasFunction(-1, "auth")) {
                case .success(let table): endpoints = table
                case .failure(let problem):
                    sb_pop(L, 1)
                    throw LuaError(kind: .invalidScript, script: file.displayPath, message: "\(file.displayPath): \(problem.message)")
                }
                if record {
                    catalog[file.name] = ProviderInfo(
                        id: file.name,
                        name: vm.field(-1, "name") ?? file.name,
                        baseURL: vm.field(-1, "base_url"),
                        endpoints: endpoints,
                        requiresKey: vm.booleanField(-1, "requires_key") ?? true,
                        decodesBody: vm.booleanField(-1, "decode_body") ?? false,
                        translatesResponses: vm.hasFunction(-1, "response"),
                        translatesStreams: vm.hasFunction(-1, "stream"),
                        file: file.displayPath,
                        hostSettings: Set(vm.stringList(-1, "host_settings") ?? []),
                        credentialSettings: Set(vm.stringList(-1, "credential_settings") ?? []),
                        clientHeaders: (vm.stringList(-1, "client_headers") ?? []).map { $0.lowercased() },
                        classifiesErrors: vm.hasFunction(-1, "error"),
                        conventionName: vm.field(-1, "semconv_name"),
                        about: ProviderAbout(docs: vm.field(-1, "docs"), authScheme: vm.field(-1, "auth_scheme"),
                                             notes: vm.field(-1, "notes")))
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
    /// Runs the provider's `prepare(ctx)` and returns the upstream request it built (for tests and
    /// benchmarks: any other outcome is an error here).
    public func prepare(provider id: String, context: PrepareContext) throws(LuaError) -> PreparedRequest {
        let (outcome, _) = try begin(provider: id, context: context)
        guard case .send(let request) = outcome else {
            throw LuaError(kind: .runtime, message: "prepare(ctx) of '\(id)' asked for \(outcome) instead of a request")
        }
        return request
    }

    /// Runs `prepare(ctx)`; for a provider that translates responses or streams (or a request
    /// through a converter), also returns the session that keeps `ctx` alive in the same VM for
    /// `response`/`stream` calls.
    public func begin(provider id: String, context: PrepareContext) throws(LuaError) -> (outcome: PrepareOutcome, session: ProviderSession?) {
        guard let info = providers[id] else {
            throw LuaError(kind: .invalidScript, message: "unknown provider '\(id)'")
        }
        let keep = info.translatesResponses || info.translatesStreams || context.converter != nil
        let (outcome, ref, index) = try pool.withAnyVM { vm, index throws(LuaError) in
            let (outcome, ref) = try vm.callPrepare(info: info, context: context, keepContext: keep)
            return (outcome, ref, index)
        }
        guard let ref else { return (outcome, nil) }
        return (outcome, ProviderSession(info: info, pool: pool, vmIndex: index, contextRef: ref, converter: context.converter))
    }

    /// Builds a passthrough request: the provider's `auth(ctx)` returns the base URL (with its
    /// version path) and the headers; the client's path and query are appended to the URL.
    public func passthrough(provider id: String, context: PrepareContext) throws(LuaError) -> PreparedRequest {
        guard let info = providers[id] else {
            throw LuaError(kind: .invalidScript, message: "unknown provider '\(id)'")
        }
        return try pool.withAnyVM { vm, _ throws(LuaError) in try vm.callAuth(info: info, context: context) }
    }

    /// Asks the provider's `error(ctx, res)` how to read an upstream error answer; nil when the
    /// provider has no such hook. `ctx` is the request's (from `session`) or, for a provider that
    /// keeps none, a small one with `endpoint`, `model` and `settings`.
    public func classifyError(
        provider id: String, session: ProviderSession?, context: PrepareContext, status: Int,
        headers: [(String, String)], body: [UInt8]
    ) throws(LuaError) -> UpstreamErrorVerdict? {
        guard let info = providers[id], info.classifiesErrors else { return nil }
        let answer = UpstreamAnswer(status: status, headers: headers, body: body)
        if let session { return try session.classifyError(answer) }
        return try pool.withAnyVM { vm, _ throws(LuaError) in
            let L = vm.state
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            try vm.pushProviderFunction(info, "error")
            vm.pushContext(context)
            return try vm.callErrorHook(answer, arguments: 1, script: info.file)
        }
    }
}

/// An upstream answer as a script sees it: `res = {status, headers, body, text}`.
struct UpstreamAnswer {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
}

extension LuaVM {
    /// Pushes `res`: `body` is the decoded JSON (absent when the bytes are not JSON), `text` the bytes.
    func push(_ answer: UpstreamAnswer) {
        let L = state
        lua_createtable(L, 0, 4)
        lua_pushinteger(L, lua_Integer(answer.status))
        sb_rawsetfield(L, -2, "status")
        lua_createtable(L, 0, Int32(clamping: answer.headers.count))
        for (name, value) in answer.headers { setField(name, value) }
        sb_rawsetfield(L, -2, "headers")
        push(bytes: answer.body)
        sb_rawsetfield(L, -2, "text")
        if tryDecodeJSON(answer.body) { sb_rawsetfield(L, -2, "body") }
    }

    /// Calls the `error` hook below `arguments` values with `res` and reads its verdict.
    func callErrorHook(_ answer: UpstreamAnswer, arguments: Int32, script: String) throws(LuaError) -> UpstreamErrorVerdict? {
        let L = state
        push(answer)
        try call(arguments: arguments + 1, results: 1, script: script)
        if sb_isnil(L, -1) != 0 { return nil }
        guard sb_istable(L, -1) != 0 else {
            throw LuaError(kind: .runtime, script: script, message: "\(script): error(ctx, res) must return a table or nil")
        }
        var verdict = UpstreamErrorVerdict(message: field(-1, "message"), type: field(-1, "type"), code: field(-1, "code"))
        verdict.retryable = booleanField(-1, "retryable")
        return verdict
    }

    /// Pushes a `ctx` table with the request facts every hook sees.
    func pushContext(_ context: PrepareContext) {
        let L = state
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
    }

    /// Reads `headers` of the table on top of the stack, refusing what the wire cannot carry.
    fileprivate func requestHeaders(script: String, hook: String) throws(LuaError) -> [PreparedRequest.Header] {
        let L = state
        var headers: [PreparedRequest.Header] = []
        if sb_rawgetfield(L, -1, "headers") == LUA_TTABLE {
            for (name, value) in stringMap(at: -1) {
                // The upstream client writes headers unvalidated: a script must not smuggle a line
                // break (header injection) or a name HTTP cannot carry.
                if WireSyntax.headerNameProblem(name) != nil {
                    sb_pop(L, 1)
                    throw LuaError(kind: .runtime, script: script,
                                   message: "\(script): \(hook) returned an invalid header name \(name.debugDescription)")
                }
                if let problem = WireSyntax.headerValueProblem(value) {
                    sb_pop(L, 1)
                    throw LuaError(kind: .runtime, script: script,
                                   message: "\(script): header '\(name)' returned by \(hook): \(problem)")
                }
                headers.append(.init(name: name.lowercased(), value: value))
            }
        }
        sb_pop(L, 1)
        return headers
    }

    /// Checks a URL a script returned: it becomes the upstream request line.
    fileprivate func checkedURL(_ url: String?, script: String, hook: String) throws(LuaError) -> String {
        guard let url else {
            throw LuaError(kind: .runtime, script: script, message: "\(script): \(hook) returned no url")
        }
        if let problem = WireSyntax.targetProblem(url) {
            throw LuaError(kind: .runtime, script: script, message: "\(script): \(hook) returned a url where \(problem)")
        }
        return url
    }

    /// Calls `auth(ctx)`: `return base_url, headers`; the request's path and query join the base.
    fileprivate func callAuth(info: ProviderInfo, context: PrepareContext) throws(LuaError) -> PreparedRequest {
        let L = state
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        try pushProviderFunction(info, "auth")
        pushContext(context)
        try call(arguments: 1, results: 2, script: info.file)
        guard let baseURL = stringValue(at: -2) else {
            throw LuaError(kind: .runtime, script: info.file,
                           message: "\(info.file): auth(ctx) must return the base URL (a string) and a table of headers")
        }
        var headers: [PreparedRequest.Header] = []
        if sb_istable(L, -1) != 0 {
            lua_createtable(L, 0, 1)
            lua_rotate(L, -2, 1)
            sb_rawsetfield(L, -2, "headers")
            headers = try requestHeaders(script: info.file, hook: "auth(ctx)")
        }
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        url += context.path
        if !context.query.isEmpty { url += (url.contains("?") ? "&" : "?") + context.query }
        return PreparedRequest(url: try checkedURL(url, script: info.file, hook: "auth(ctx)"), method: nil, headers: headers, body: nil)
    }
}

extension LuaVM {
    fileprivate func callPrepare(info: ProviderInfo, context: PrepareContext, keepContext: Bool) throws(LuaError)
        -> (PrepareOutcome, Int32?)
    {
        let L = state
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        try pushProviderFunction(info, "prepare")
        pushContext(context)
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
        if let token = context.tokenResponse {
            // Shaped as `res` is for response(ctx, res): status, headers, text, body (decoded JSON).
            push(UpstreamAnswer(status: token.status, headers: [], body: token.body))
            sb_rawsetfield(L, ctxIndex, "token_response")
        }
        var convertedBody: [UInt8]?
        if let converter = context.converter {
            // The client spoke another endpoint's dialect: the converter turns the body into a
            // request of its `to` endpoint, and the provider sees a call of that endpoint.
            try pushModuleFunction(converter.module, "request", script: converter.file)
            lua_pushvalue(L, ctxIndex)
            try decodeJSON(context.body ?? [], script: converter.file)
            try call(arguments: 2, results: 1, script: converter.file)
            guard sb_istable(L, -1) != 0 else {
                throw LuaError(kind: .runtime, script: converter.file, message: "\(converter.file): request(ctx, body) must return a table")
            }
            let model = field(-1, "model")
            if info.decodesBody {
                sb_rawsetfield(L, ctxIndex, "body")  // the provider translates it further
            } else {
                convertedBody = try encodeJSON(at: -1, script: converter.file)  // sent as is
                sb_pop(L, 1)
            }
            setField("endpoint", converter.to)
            setField("path", "/" + converter.to)
            setField("model", model)
            setField("converter", converter.module)
        } else if info.decodesBody, let body = context.body {
            if context.bodyIsJSON {
                try decodeJSON(body, script: info.file)
                sb_rawsetfield(L, -2, "body")
            } else {
                // Not JSON (a multipart upload, CSV for a SageMaker model): the bytes as they are.
                push(bytes: body)
                sb_rawsetfield(L, -2, "body_text")
            }
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
            return (.fetch(fetch), contextRef)
        }
        if sb_rawgetfield(L, -1, "token_request") == LUA_TTABLE {
            guard context.tokenResponse == nil else {
                throw LuaError(kind: .runtime, script: info.file,
                               message: "\(info.file): prepare(ctx) asked for a token_request again after ctx.token_response")
            }
            let url = try checkedURL(field(-1, "url"), script: info.file, hook: "prepare(ctx)'s token_request")
            let method = field(-1, "method") ?? "POST"
            if let problem = WireSyntax.methodProblem(method) {
                throw LuaError(kind: .runtime, script: info.file, message: "\(info.file): token_request has a method where \(problem)")
            }
            let headers = try requestHeaders(script: info.file, hook: "prepare(ctx)'s token_request")
            var body: [UInt8]?
            if sb_rawgetfield(L, -1, "body") == LUA_TSTRING { body = bytes(at: -1) }
            sb_pop(L, 1)
            succeeded = true
            return (.token(TokenRequest(url: url, method: method, headers: headers, body: body)), contextRef)
        }
        sb_pop(L, 1)
        if let via = field(-1, "via") {
            guard context.converter == nil else {
                throw LuaError(kind: .runtime, script: info.file,
                               message: "\(info.file): prepare(ctx) asked for via = \"\(via)\" on a request already converted")
            }
            succeeded = true
            return (.via(via), contextRef)
        }
        if field(-1, "dialect") != nil {
            throw LuaError(kind: .runtime, script: info.file,
                           message: "\(info.file): prepare(ctx) returned `dialect`, which is now `via = <endpoint>` (providers/README.md)")
        }
        let url = try checkedURL(field(-1, "url"), script: info.file, hook: "prepare(ctx)")
        let method = field(-1, "method")
        if let method, let problem = WireSyntax.methodProblem(method) {
            throw LuaError(kind: .runtime, script: info.file, message: "\(info.file): prepare(ctx) returned a method where \(problem)")
        }
        let headers = try requestHeaders(script: info.file, hook: "prepare(ctx)")
        var body: [UInt8]?
        var fromTable = false
        switch sb_rawgetfield(L, -1, "body") {
        case LUA_TSTRING:
            body = bytes(at: -1)
        case LUA_TTABLE:
            body = try encodeJSON(at: -1, script: info.file)
            fromTable = true
        default:
            break
        }
        sb_pop(L, 1)
        if body == nil, let convertedBody { body = convertedBody }
        var prepared = PreparedRequest(url: url, method: method, headers: headers, body: body)
        prepared.bodyFromTable = fromTable
        if let translate = booleanField(-1, "translate") { prepared.translate = translate }
        succeeded = true
        return (.send(prepared), contextRef)
    }

    /// Pushes `require(module)[name]`.
    func pushModuleFunction(_ module: String, _ name: String, script: String) throws(LuaError) {
        let L = state
        lua_getglobal(L, "require")
        push(module)
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
