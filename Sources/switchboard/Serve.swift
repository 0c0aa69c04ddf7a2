import ArgumentParser
import CLuaShim
import FoundationEssentials
import GatewayCore
import GatewayServer
import Logging
import LuaRuntime
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// Runs the gateway.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the default command).")

    @Option(name: .customLong("host"), help: "Address to listen on. (env: SWITCHBOARD_HOST, default: 127.0.0.1)")
    var hostFlag: String?

    @Option(name: .customLong("port"), help: "Port to listen on; 0 picks a free one. (env: SWITCHBOARD_PORT, default: 8787)")
    var portFlag: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. (env: SWITCHBOARD_LOG_LEVEL, default: info)")
    var logLevelFlag: String?

    @Option(name: .customLong("max-body-size"), help: "Largest request body in bytes; larger ones get 413. (env: SWITCHBOARD_MAX_BODY_SIZE, default: 33554432)")
    var maxBodyFlag: Int?

    @Option(name: .customLong("upstream-timeout"), help: "Seconds an upstream may stay silent before a 504. (env: SWITCHBOARD_UPSTREAM_TIMEOUT, default: 600)")
    var upstreamTimeoutFlag: Int?

    @Option(name: .customLong("allow-host"), help: "Host a client's x-portkey-custom-host may name even when it is private; repeatable. (env: SWITCHBOARD_ALLOW_HOSTS, comma-separated)")
    var allowHostFlags: [String] = []

    @Option(name: .customLong("max-image-size"), help: "Largest image, in bytes, fetched from a URL for providers that need images inline (Gemini, Bedrock). (env: SWITCHBOARD_MAX_IMAGE_SIZE, default: 10485760)")
    var maxImageFlag: Int?

    @Option(name: .customLong("image-fetch-timeout"), help: "Seconds a fetch of an image URL may take. (env: SWITCHBOARD_IMAGE_FETCH_TIMEOUT, default: 10)")
    var imageTimeoutFlag: Int?

    @Option(name: .customLong("retry-backoff-base"), help: "Milliseconds before the first retry of a config's target; doubles per retry, with full jitter. (env: SWITCHBOARD_RETRY_BACKOFF_BASE, default: 250)")
    var backoffBaseFlag: Int?

    @Option(name: .customLong("retry-backoff-cap"), help: "Longest wait between retries, in milliseconds. (env: SWITCHBOARD_RETRY_BACKOFF_CAP, default: 8000)")
    var backoffCapFlag: Int?

    @Option(name: .customLong("cooldown-failures"), help: "Failed attempts in a row after which a config's target is skipped for the cooldown; 0 turns cooldowns off. (env: SWITCHBOARD_COOLDOWN_FAILURES, default: 3)")
    var cooldownFailuresFlag: Int?

    @Option(name: .customLong("cooldown-seconds"), help: "How long a failing target is skipped before one request probes it. (env: SWITCHBOARD_COOLDOWN_SECONDS, default: 30)")
    var cooldownSecondsFlag: Int?

    @Option(name: .customLong("virtual-keys-file"), help: "JSON file of virtual keys: {\"name\": {\"provider\": \"openai\", \"api_key\": \"sk-...\"}}, used as x-portkey-virtual-key or a config target's virtual_key. (env: SWITCHBOARD_VIRTUAL_KEYS_FILE, or the JSON itself in SWITCHBOARD_VIRTUAL_KEYS)")
    var virtualKeysFileFlag: String?

    @Option(name: .customLong("drain-timeout"), help: "Seconds requests and streams in flight may take to finish after SIGTERM/SIGINT; then they are ended (streams with an error event). (env: SWITCHBOARD_DRAIN_TIMEOUT, default: 30)")
    var drainTimeoutFlag: Int?

    @Option(name: .customLong("gateway-keys-file"), help: "File with one gateway key per line; when set (or SWITCHBOARD_GATEWAY_KEYS, comma-separated), every request must present one as x-portkey-api-key. (env: SWITCHBOARD_GATEWAY_KEYS_FILE)")
    var gatewayKeysFileFlag: String?

    @Option(name: .customLong("admin-token"), help: "Enables POST /admin/reload and GET /admin/scripts for requests that present this token (Authorization: Bearer <token>). Prefer the environment variable: a flag shows in the process list. (env: SWITCHBOARD_ADMIN_TOKEN)")
    var adminTokenFlag: String?

    @Option(name: .customLong("configs"), help: "Folder of named routing configs (<name>.json), used as 'x-portkey-config: <name>'; re-read when files change. (env: SWITCHBOARD_CONFIGS)")
    var configsFlag: String?

    @Option(name: .customLong("default-config"), help: "Config (by name) for requests with neither x-portkey-provider nor x-portkey-config. (env: SWITCHBOARD_DEFAULT_CONFIG)")
    var defaultConfigFlag: String?

    @OptionGroup var scriptOptions: ScriptOptions

    func run() async throws {
        // Run Swift concurrency's jobs on NIO's event loops, so a request's handler, its upstream
        // call and its response writes stay on one thread instead of hopping between the
        // cooperative pool and the event loops. Only possible before any task has used the global
        // executor, which is why it is the first thing `serve` does.
        let onEventLoops = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let levelText = try setting(logLevelFlag, "SWITCHBOARD_LOG_LEVEL", "info")
        let level = try logLevel(levelText, source: logLevelFlag == nil ? "SWITCHBOARD_LOG_LEVEL" : "--log-level")
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = {
            var logger = Logger(label: "switchboard")
            logger.logLevel = level
            return logger
        }()

        let host = try setting(hostFlag, "SWITCHBOARD_HOST", "127.0.0.1")
        let port = try setting(portFlag, "SWITCHBOARD_PORT", 8787, range: 0...65535)
        let maxBody = try setting(maxBodyFlag, "SWITCHBOARD_MAX_BODY_SIZE", 32 * 1024 * 1024, range: 1...Int(Int32.max))
        let upstreamTimeout = try setting(upstreamTimeoutFlag, "SWITCHBOARD_UPSTREAM_TIMEOUT", 600, range: 1...86_400)
        let maxImage = try setting(maxImageFlag, "SWITCHBOARD_MAX_IMAGE_SIZE", 10 * 1024 * 1024, range: 1...Int(Int32.max))
        let imageTimeout = try setting(imageTimeoutFlag, "SWITCHBOARD_IMAGE_FETCH_TIMEOUT", 10, range: 1...600)
        let drainTimeout = try setting(drainTimeoutFlag, "SWITCHBOARD_DRAIN_TIMEOUT", 30, range: 0...3600)
        let backoffBase = try setting(backoffBaseFlag, "SWITCHBOARD_RETRY_BACKOFF_BASE", 250, range: 0...60_000)
        let backoffCap = try setting(backoffCapFlag, "SWITCHBOARD_RETRY_BACKOFF_CAP", 8000, range: 0...600_000)
        let cooldownFailures = try setting(cooldownFailuresFlag, "SWITCHBOARD_COOLDOWN_FAILURES", 3, range: 0...1000)
        let cooldownSeconds = try setting(cooldownSecondsFlag, "SWITCHBOARD_COOLDOWN_SECONDS", 30, range: 1...86_400)
        var allowed = allowHostFlags
        if allowed.isEmpty, let env = ProcessInfo.processInfo.environment["SWITCHBOARD_ALLOW_HOSTS"] {
            allowed = env.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
        }

        let providers = try scriptOptions.providers
        let scripts = try scriptOptions.scripts
        let scriptHost: ScriptHost
        do {
            scriptHost = try ScriptHost(
                locations: .init(providers: providers, scripts: scripts), limits: try scriptOptions.limits,
                vmCount: try scriptOptions.vmCount, logger: logger)
        } catch {
            logger.critical("cannot start: scripts failed to load\n\(error)")
            throw ExitCode(78)
        }
        let generation = scriptHost.current
        for id in generation.providerIDs {
            let info = generation.providers[id]!
            logger.info("loaded provider \(id) from \(info.file)", metadata: ["base_url": "\(info.baseURL ?? "-")"])
        }
        for script in generation.scripts { logger.info("loaded script \(script)") }
        logger.info("Swift concurrency runs on \(onEventLoops ? "the NIO event loops" : "its default thread pool")")
        logger.info("loaded \(generation.providers.count) providers, \(generation.libraries.count) libraries and \(generation.scripts.count) scripts into \(generation.vmCount) Lua VMs")

        let group = MultiThreadedEventLoopGroup.singleton
        let upstream = UpstreamClient(eventLoopGroup: group, readTimeout: .seconds(Int64(upstreamTimeout)))
        var gatewaySettings = GatewaySettings(
            maxRequestBodyBytes: maxBody, hostPolicy: CustomHostPolicy(allowedHosts: Set(allowed)),
            imageFetch: ImageFetchSettings(maxBytes: maxImage, timeout: .seconds(Int64(imageTimeout)),
                                           allowedHosts: Set(allowed)))
        gatewaySettings.retryTuning = RetryTuning(base: .milliseconds(backoffBase), cap: .milliseconds(backoffCap))
        gatewaySettings.cooldown = CooldownSettings(failures: cooldownFailures, period: .seconds(cooldownSeconds))
        var gatewayKeys = (ProcessInfo.processInfo.environment["SWITCHBOARD_GATEWAY_KEYS"] ?? "")
            .split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
        if let file = gatewayKeysFileFlag ?? ProcessInfo.processInfo.environment["SWITCHBOARD_GATEWAY_KEYS_FILE"] {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                logger.critical("cannot start: --gateway-keys-file \(file) is not readable")
                throw ExitCode(78)
            }
            gatewayKeys += text.split(whereSeparator: \.isNewline).map { String($0.filter { !$0.isWhitespace }) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        gatewaySettings.gatewayKeys = gatewayKeys
        var virtualKeysJSON = ProcessInfo.processInfo.environment["SWITCHBOARD_VIRTUAL_KEYS"]
        if let file = virtualKeysFileFlag ?? ProcessInfo.processInfo.environment["SWITCHBOARD_VIRTUAL_KEYS_FILE"] {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                logger.critical("cannot start: --virtual-keys-file \(file) is not readable")
                throw ExitCode(78)
            }
            virtualKeysJSON = text
        }
        if let virtualKeysJSON {
            do throws(GatewayError) {
                gatewaySettings.virtualKeys = try VirtualKeys(json: virtualKeysJSON, knownProviders: Set(generation.providerIDs))
            } catch {
                logger.critical("cannot start: \(error.message)")
                throw ExitCode(78)
            }
            logger.info("virtual keys loaded: \(gatewaySettings.virtualKeys.entries.keys.sorted().joined(separator: ", "))")
        }
        if !gatewayKeys.isEmpty { logger.info("gateway keys required (\(gatewayKeys.count) configured)") }
        let environment = ProcessInfo.processInfo.environment
        let configsFolder = configsFlag ?? environment["SWITCHBOARD_CONFIGS"]
        let defaultConfig = defaultConfigFlag ?? environment["SWITCHBOARD_DEFAULT_CONFIG"]
        var loadedConfigs: ConfigStore?
        if let configsFolder {
            do throws(GatewayError) {
                loadedConfigs = try ConfigStore(directory: configsFolder, defaultName: defaultConfig,
                                              knownProviders: Set(generation.providerIDs), logger: logger)
            } catch {
                logger.critical("cannot start: routing configs failed to load\n\(error.message)")
                throw ExitCode(78)
            }
            let suffix = defaultConfig.map { " (default: \($0))" } ?? ""
            logger.info("loaded \(loadedConfigs!.names.count) routing configs from \(configsFolder)\(suffix)")
        } else if defaultConfig != nil {
            logger.critical("cannot start: --default-config needs --configs")
            throw ExitCode(64)
        }
        let gateway = Gateway(
            scripts: scriptHost, upstream: upstream, settings: gatewaySettings, configs: loadedConfigs, logger: logger)
        let adminToken = adminTokenFlag ?? environment["SWITCHBOARD_ADMIN_TOKEN"]
        let configStore = loadedConfigs
        let reloadAll: @Sendable (String) async -> (status: Int, json: String) = { reason in
            let outcome = try? await NIOThreadPool.singleton.runIfActive { () -> (Int, String) in
                let result = scriptHost.reload(reason: reason)
                let configProblems = configStore?.reload(knownProviders: Set(scriptHost.current.providerIDs)) ?? []
                switch result {
                case .success(let next):
                    let configs = configProblems.isEmpty ? "null" : JSONText.quote(configProblems.joined(separator: "\n"))
                    return (200, #"{"reloaded":true,"generation":\#(next.number),"config_errors":\#(configs)}"#)
                case .failure(let error):
                    return (422, #"{"reloaded":false,"generation":\#(scriptHost.current.number),"error":\#(JSONText.quote(error.description))}"#)
                }
            }
            return outcome ?? (503, #"{"reloaded":false,"error":"shutting down"}"#)
        }
        let admin = adminToken.map { token in
            AdminEndpoints(token: token) { action in
                switch action {
                case .reload:
                    return await reloadAll("POST /admin/reload")
                case .scripts:
                    let generation = scriptHost.current
                    let status = scriptHost.status
                    func list(_ items: [String]) -> String { "[" + items.map(JSONText.quote).joined(separator: ",") + "]" }
                    var fields: [String] = []
                    fields.append(#""generation":\#(generation.number)"#)
                    fields.append(#""providers":\#(list(generation.providerIDs))"#)
                    fields.append(#""libraries":\#(list(generation.libraries.sorted()))"#)
                    fields.append(#""scripts":\#(list(generation.scripts))"#)
                    fields.append(#""vms":\#(generation.vmCount)"#)
                    fields.append(#""reloads":\#(status.reloads)"#)
                    fields.append(#""failed_reloads":\#(status.failedReloads)"#)
                    let lastError: String = status.lastError.map(JSONText.quote) ?? "null"
                    fields.append(#""last_error":\#(lastError)"#)
                    fields.append(#""configs":\#(list(configStore?.names ?? []))"#)
                    return (200, "{" + fields.joined(separator: ",") + "}")
                }
            }
        }
        let server = GatewayHTTPServer(
            configuration: .init(host: host, port: port, maxRequestBodyBytes: maxBody, admin: admin,
                                 drainTimeout: .seconds(drainTimeout)),
            gateway: gateway, group: group, logger: logger,
            onListening: { address in
                logger.info("switchboard listening on http://\(address.ipAddress ?? host):\(address.port ?? port)")
            })
        let services = ServiceGroup(configuration: .init(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        // After a burst (thousands of streams) glibc keeps the freed heap; hand it back every few
        // seconds so an idle gateway returns to its idle footprint.
        // Lua garbage is collected first (it pins pages otherwise); both run on NIO's blocking
        // thread pool, never on an event loop.
        let trimmer = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                try? await NIOThreadPool.singleton.runIfActive {
                    scriptHost.current.collectIdleGarbage()
                    _ = sb_release_free_memory()
                }
            }
        }
        defer { trimmer.cancel() }
        // Script and config files take effect within about a second of changing (checked every
        // 500 ms off the event loops); a broken edit keeps what is live and logs the error.
        let watcher = Task.detached { [configStore] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                try? await NIOThreadPool.singleton.runIfActive {
                    scriptHost.reloadIfChanged()
                    configStore?.reload(knownProviders: Set(scriptHost.current.providerIDs))
                }
            }
        }
        defer { watcher.cancel() }
        // SIGHUP reloads everything, as operators expect of a daemon.
        let hangups = Task.detached {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                _ = await reloadAll("SIGHUP")
            }
        }
        defer { hangups.cancel() }
        do {
            try await services.run()
        } catch {
            await upstream.shutdown()
            throw error
        }
        await upstream.shutdown()
    }
}
