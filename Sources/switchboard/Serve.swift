import ArgumentParser
import CoreMetrics
import Configuration
import Prometheus
import CLuaShim
import FoundationEssentials
import GatewayCore
import GatewayServer
import Logging
import LuaRuntime
import NIOCore
import NIOPosix
import RedisClient
import ServiceLifecycle
import UnixSignals

/// Runs the gateway.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the default command).")

    @Option(name: .customLong("host"), help: "Address to listen on. (env: SWITCHBOARD_HOST, default: 127.0.0.1)")
    var host: String?

    @Option(name: .customLong("port"), help: "Port to listen on; 0 picks a free one. (env: SWITCHBOARD_PORT, default: 8787)")
    var port: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. (env: SWITCHBOARD_LOG_LEVEL, default: info)")
    var logLevel: String?

    @Option(name: .customLong("request-log"), help: "Where the one-JSON-line-per-request log goes: stdout, stderr, off, or a file path (appended). (env: SWITCHBOARD_REQUEST_LOG, default: stdout)")
    var requestLog: String?

    @Option(name: .customLong("log-bodies"), help: "Include request and response bodies (up to 64 KiB each) in the request log: true or false. (env: SWITCHBOARD_LOG_BODIES, default: false)")
    var logBodies: Bool?

    @Option(name: .customLong("metrics"), help: "Serve Prometheus metrics on GET /metrics: true or false. (env: SWITCHBOARD_METRICS, default: true)")
    var metrics: Bool?

    @Option(name: .customLong("max-body-size"), help: "Largest request body in bytes; larger ones get 413. (env: SWITCHBOARD_MAX_BODY_SIZE, default: 33554432)")
    var maxBodySize: Int?

    @Option(name: .customLong("upstream-timeout"), help: "Seconds an upstream may stay silent before a 504. (env: SWITCHBOARD_UPSTREAM_TIMEOUT, default: 600)")
    var upstreamTimeout: Int?

    @Option(name: .customLong("allow-host"), help: "Host a client's x-portkey-custom-host may name even when it is private; repeatable. (env: SWITCHBOARD_ALLOW_HOSTS, comma-separated; file: allow_hosts)")
    var allowHosts: [String] = []

    @Option(name: .customLong("max-image-size"), help: "Largest image, in bytes, fetched from a URL for providers that need images inline (Gemini, Bedrock). (env: SWITCHBOARD_MAX_IMAGE_SIZE, default: 10485760)")
    var maxImageSize: Int?

    @Option(name: .customLong("image-fetch-timeout"), help: "Seconds a fetch of an image URL may take. (env: SWITCHBOARD_IMAGE_FETCH_TIMEOUT, default: 10)")
    var imageFetchTimeout: Int?

    @Option(name: .customLong("retry-backoff-base"), help: "Milliseconds before the first retry of a config's target; doubles per retry, with full jitter. (env: SWITCHBOARD_RETRY_BACKOFF_BASE, default: 250)")
    var retryBackoffBase: Int?

    @Option(name: .customLong("retry-backoff-cap"), help: "Longest wait between retries, in milliseconds. (env: SWITCHBOARD_RETRY_BACKOFF_CAP, default: 8000)")
    var retryBackoffCap: Int?

    @Option(name: .customLong("max-retry-after"), help: "Longest upstream Retry-After honoured when a config sets use_retry_after_header, in milliseconds; longer (or absurd) values are capped to it. (env: SWITCHBOARD_MAX_RETRY_AFTER, default: 30000)")
    var maxRetryAfter: Int?

    @Option(name: .customLong("cooldown-failures"), help: "Failed attempts in a row after which a config's target is skipped for the cooldown; 0 turns cooldowns off. (env: SWITCHBOARD_COOLDOWN_FAILURES, default: 3)")
    var cooldownFailures: Int?

    @Option(name: .customLong("cooldown-seconds"), help: "How long a failing target is skipped before one request probes it. (env: SWITCHBOARD_COOLDOWN_SECONDS, default: 30)")
    var cooldownSeconds: Int?

    @Option(name: .customLong("cache-max-bytes"), help: "Memory for the response cache (configs with cache: {mode: simple}); least recently used answers are evicted beyond it; 0 turns caching off. (env: SWITCHBOARD_CACHE_MAX_BYTES, default: 67108864)")
    var cacheMaxBytes: Int?

    @Option(name: .customLong("store-max-bytes"), help: "Memory for the scripts' shared store (gw.store; the responses converter keeps conversations there for previous_response_id); least recently used entries are evicted beyond it. (env: SWITCHBOARD_STORE_MAX_BYTES, default: 67108864)")
    var storeMaxBytes: Int?

    @Option(name: .customLong("drain-timeout"), help: "Seconds requests and streams in flight may take to finish after SIGTERM/SIGINT; then they are ended (streams with an error event). (env: SWITCHBOARD_DRAIN_TIMEOUT, default: 30)")
    var drainTimeout: Int?

    @Option(name: .customLong("idle-timeout"), help: "Seconds a client connection may stay silent between requests before it is closed, or in the middle of sending one before it gets 408; 0 = never. (env: SWITCHBOARD_IDLE_TIMEOUT, default: 75)")
    var idleTimeout: Int?

    @Option(name: .customLong("head-timeout"), help: "Seconds a client may take to send a request head, from its first byte (from the accept, for a connection's first request); slower heads get 408 and the connection closes; 0 = no deadline. (env: SWITCHBOARD_HEAD_TIMEOUT, default: 30)")
    var headTimeout: Int?

    @Option(name: .customLong("body-min-rate"), help: "Slowest average rate, in bytes per second, at which a request body must arrive after the first head-timeout seconds; slower uploads get 408; 0 = no minimum. (env: SWITCHBOARD_BODY_MIN_RATE, default: 1024)")
    var bodyMinRate: Int?

    @Option(name: .customLong("max-connections"), help: "Client connections open at once; more are answered 503 too_many_connections and closed; 0 = no cap. (env: SWITCHBOARD_MAX_CONNECTIONS, default: half the open-file limit, at most 10000)")
    var maxConnections: Int?

    @Option(name: .customLong("configs"), help: "Folder of named routing configs (<name>.json), used as 'x-portkey-config: <name>'; re-read when files change. (env: SWITCHBOARD_CONFIGS)")
    var configs: String?

    @Option(name: .customLong("redis-url"), help: "Keep rate-limit windows and budgets in Redis, shared by every replica: redis://[user:password@]host:port[/db], rediss:// for TLS. Without it they live in this process. (env: SWITCHBOARD_REDIS_URL)")
    var redisURL: String?

    @Option(name: .customLong("redis-timeout-ms"), help: "Longest wait for one Redis command before the limits' failure policy applies. (env: SWITCHBOARD_REDIS_TIMEOUT_MS, default: 250)")
    var redisTimeout: Int?

    @Option(name: .customLong("limits-fail-closed"), help: "When Redis cannot answer, refuse limited keys' requests with 503 (true) instead of letting them through uncounted with a warning (false). (env: SWITCHBOARD_LIMITS_FAIL_CLOSED, default: false)")
    var limitsFailClosed: Bool?

    @Option(name: .customLong("pricing"), help: "Folder of pricing tables (<provider>.json; pricing/README.md): each request's cost_usd, the cost metric and key budgets; re-read when files change. (env: SWITCHBOARD_PRICING, default: ./pricing when it exists)")
    var pricing: String?

    @Option(name: .customLong("default-config"), help: "Config (by name) for requests with neither x-portkey-provider nor x-portkey-config. (env: SWITCHBOARD_DEFAULT_CONFIG)")
    var defaultConfig: String?

    @Option(name: .customLong("gateway-keys-file"), help: "File with one gateway key per line; when gateway keys are set (here, in SWITCHBOARD_GATEWAY_KEYS comma-separated, or gateway_keys in the settings file), every request must present one as x-portkey-api-key. (env: SWITCHBOARD_GATEWAY_KEYS_FILE)")
    var gatewayKeysFile: String?

    @Option(name: .customLong("virtual-keys-file"), help: "JSON file of virtual keys: {\"name\": {\"provider\": \"openai\", \"api_key\": \"sk-...\"}}, used as x-portkey-virtual-key or a config target's virtual_key. (env: SWITCHBOARD_VIRTUAL_KEYS_FILE, or the JSON itself in SWITCHBOARD_VIRTUAL_KEYS, or virtual_keys in the settings file)")
    var virtualKeysFile: String?

    @Option(name: .customLong("admin-token"), help: "Enables POST /admin/reload and GET /admin/scripts for requests that present this token (Authorization: Bearer <token>). Prefer SWITCHBOARD_ADMIN_TOKEN or --admin-token-file: a flag shows in the process list. (env: SWITCHBOARD_ADMIN_TOKEN)")
    var adminToken: String?

    @Option(name: .customLong("admin-token-file"), help: "File holding the admin token. (env: SWITCHBOARD_ADMIN_TOKEN_FILE)")
    var adminTokenFile: String?

    @Option(name: .customLong("threads"), help: "Event loops (one thread each) that serve connections and run requests; a flag or environment setting only, as the loops start before the settings file is read. (env: SWITCHBOARD_THREADS, default: the number of cores)")
    var threads: Int?

    /// Sizes NIO's event-loop group (`MultiThreadedEventLoopGroup.singleton`, also Swift
    /// concurrency's executor here) from `--threads` or `SWITCHBOARD_THREADS`. It must run before
    /// the group's first use, and reading the settings file already uses it, so the file has no
    /// `threads` key. Returns the loop count the gateway will run with.
    static func sizeEventLoops(flag: Int?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Int {
        let variable = environment["SWITCHBOARD_THREADS"].flatMap { $0.isEmpty ? nil : $0 }
        let source = flag != nil ? "--threads" : "SWITCHBOARD_THREADS"
        guard let raw = flag.map({ String($0) }) ?? variable else { return NIOSingletons.groupLoopCountSuggestion }
        guard let count = Int(raw), (1...1024).contains(count) else {
            throw ValidationError("\(source) must be a whole number in 1...1024 (event loops), got '\(raw)'")
        }
        NIOSingletons.groupLoopCountSuggestion = count
        return count
    }

    @OptionGroup var settingsFile: SettingsFileOption

    @OptionGroup var scriptOptions: ScriptOptions

    /// The values given on the command line, by setting key (see ``Settings``).
    var flagValues: [String: ConfigContent] {
        var values = scriptOptions.flagValues
        let strings: [(String, String?)] = [
            ("host", host), ("log_level", logLevel), ("request_log", requestLog), ("configs", configs), ("pricing", pricing), ("redis_url", redisURL),
            ("default_config", defaultConfig), ("gateway_keys_file", gatewayKeysFile),
            ("virtual_keys_file", virtualKeysFile), ("admin_token", adminToken), ("admin_token_file", adminTokenFile),
        ]
        for case let (key, value?) in strings { values[key] = .string(value) }
        let ints: [(String, Int?)] = [
            ("port", port), ("max_body_size", maxBodySize), ("upstream_timeout", upstreamTimeout),
            ("max_image_size", maxImageSize), ("image_fetch_timeout", imageFetchTimeout),
            ("retry_backoff_base", retryBackoffBase), ("retry_backoff_cap", retryBackoffCap),
            ("max_retry_after", maxRetryAfter),
            ("cooldown_failures", cooldownFailures), ("cooldown_seconds", cooldownSeconds),
            ("cache_max_bytes", cacheMaxBytes), ("store_max_bytes", storeMaxBytes), ("drain_timeout", drainTimeout), ("idle_timeout", idleTimeout),
            ("head_timeout", headTimeout), ("body_min_rate", bodyMinRate), ("max_connections", maxConnections),
            ("redis_timeout_ms", redisTimeout),
        ]
        for case let (key, value?) in ints { values[key] = .int(value) }
        if let logBodies { values["log_bodies"] = .bool(logBodies) }
        if let limitsFailClosed { values["limits_fail_closed"] = .bool(limitsFailClosed) }
        if let metrics { values["metrics"] = .bool(metrics) }
        if !allowHosts.isEmpty { values["allow_hosts"] = .stringArray(allowHosts) }
        return values
    }

    func run() async throws {
        // Run Swift concurrency's jobs on NIO's event loops, so a request's handler, its upstream
        // call and its response writes stay on one thread instead of hopping between the
        // cooperative pool and the event loops. Only possible before any task has used the global
        // executor, which is why it is the first thing `serve` does.
        let loopCount = try Self.sizeEventLoops(flag: threads)
        let onEventLoops = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let settings = try await Settings.load(flags: flagValues, filePath: settingsFile.path)
        let resolved = try ServeSettings(settings)
        let level = resolved.logLevel
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
        if let file = settings.filePath { logger.info("settings file: \(file)") }
        for variable in Settings.unknownVariables() {
            logger.warning("\(variable) is not a setting and is ignored (settings: \(Settings.keys.map { "SWITCHBOARD_" + $0.uppercased() }.joined(separator: ", ")))")
        }
        let host = resolved.host
        let port = resolved.port
        let maxBody = resolved.maxBodySize
        let allowed = resolved.allowHosts
        let requestLogTarget = resolved.requestLog
        let requestLog: LineWriter?
        switch requestLogTarget {
        case "off": requestLog = nil
        case "stdout": requestLog = LineWriter(descriptor: 1)
        case "stderr": requestLog = LineWriter(descriptor: 2)
        default:
            do throws(GatewayError) {
                requestLog = try LineWriter(path: requestLogTarget)
            } catch {
                throw ValidationError("request_log: \(error.message)")
            }
        }
        let registry = PrometheusCollectorRegistry()
        var tracer: GatewayTracer?
        var telemetryServices: [any Service] = []
        var genAIMetrics: (any MetricsFactory)?
        if let telemetry = resolved.telemetry {
            do {
                let started = try telemetry.start(logger: logger)
                tracer = GatewayTracer(started.tracer, recordBodies: resolved.logBodies)
                genAIMetrics = started.metrics
                telemetryServices = started.services
            } catch {
                logger.critical("cannot start: OpenTelemetry export: \(error)")
                throw ExitCode(78)
            }
            logger.info("traces\(genAIMetrics == nil ? "" : " and GenAI metrics") go to \(telemetry.endpoint) over OTLP (\(telemetry.wireProtocol), sampler \(telemetry.sampler), service.name \(telemetry.serviceName))")
        }
        let metrics = GatewayMetrics(factory: PrometheusMetrics(registry: registry), genAI: genAIMetrics)
        let scriptSettings = resolved.scripts

        let scriptHost: ScriptHost
        do {
            scriptHost = try ScriptHost(
                locations: .init(providers: scriptSettings.providers, scripts: scriptSettings.scripts,
                                 plugins: scriptSettings.plugins),
                limits: scriptSettings.limits, vmCount: scriptSettings.vmCount, logger: logger, metrics: metrics,
                store: ScriptStore(maxBytes: resolved.storeMaxBytes))
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
        if !generation.plugins.isEmpty {
            logger.info("loaded \(generation.plugins.count) check plugins from \(scriptSettings.plugins): \(generation.plugins.keys.sorted().joined(separator: ", "))")
        }
        logger.info("Swift concurrency runs on \(onEventLoops ? "the NIO event loops" : "its default thread pool") (\(loopCount) event loops)")
        logger.info("loaded \(generation.providers.count) providers, \(generation.libraries.count) libraries and \(generation.scripts.count) scripts into \(generation.builtVMCount) Lua VM(s); up to \(generation.vmCount) are built as calls overlap")

        let group = MultiThreadedEventLoopGroup.singleton
        let upstream = UpstreamClient(eventLoopGroup: group, readTimeout: .seconds(Int64(resolved.upstreamTimeout)))
        var gatewaySettings = GatewaySettings(
            maxRequestBodyBytes: maxBody, hostPolicy: CustomHostPolicy(allowedHosts: Set(allowed)),
            imageFetch: ImageFetchSettings(maxBytes: resolved.maxImageSize, timeout: .seconds(Int64(resolved.imageFetchTimeout)),
                                           allowedHosts: Set(allowed)))
        gatewaySettings.retryTuning = RetryTuning(base: .milliseconds(resolved.retryBackoffBase),
                                                  cap: .milliseconds(resolved.retryBackoffCap),
                                                  maxRetryAfter: .milliseconds(resolved.maxRetryAfter))
        gatewaySettings.cooldown = CooldownSettings(failures: resolved.cooldownFailures, period: .seconds(resolved.cooldownSeconds))
        gatewaySettings.cacheMaxBytes = resolved.cacheMaxBytes
        let gatewayKeys = resolved.gatewayKeys
        gatewaySettings.gatewayKeys = gatewayKeys
        gatewaySettings.limitedGatewayKeys = resolved.limitedGatewayKeys
        gatewaySettings.metadataLimits = resolved.metadataLimits
        let virtualKeysJSON = resolved.virtualKeysJSON
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
        let configsFolder = resolved.configs
        let defaultConfig = resolved.defaultConfig
        var loadedConfigs: ConfigStore?
        if let configsFolder {
            do throws(GatewayError) {
                loadedConfigs = try ConfigStore(directory: configsFolder, defaultName: defaultConfig,
                                              knownProviders: Set(generation.providerIDs), plugins: generation.plugins,
                                              logger: logger, metrics: metrics)
            } catch {
                logger.critical("cannot start: routing configs failed to load\n\(error.message)")
                throw ExitCode(78)
            }
            let suffix = defaultConfig.map { " (default: \($0))" } ?? ""
            logger.info("loaded \(loadedConfigs!.names.count) routing configs from \(configsFolder)\(suffix)")
        }
        var pricing = PricingStore()
        if let folder = resolved.pricing {
            do throws(PricingTable.Failure) {
                pricing = try PricingStore(folder: folder, knownProviders: Set(generation.providerIDs))
            } catch {
                logger.critical("cannot start: the pricing table failed to load: \(error.message)")
                throw ExitCode(78)
            }
            logger.info("loaded prices of \(pricing.table.modelCount) models from \(folder)")
        }
        var limits: any LimitStore = LocalLimitStore()
        var sharedCache: (any ResponseCacheBackend)?
        var sharedCooldowns: (any CooldownShare)?
        var redis: RedisClient?
        if let text = resolved.redisURL {
            let url: RedisURL
            do throws(RedisURLError) {
                url = try RedisURL(text)
            } catch {
                logger.critical("cannot start: redis_url: \(error.message)")
                throw ExitCode(78)
            }
            var configuration = RedisClient.Configuration(url: url)
            configuration.commandTimeout = .milliseconds(Int64(resolved.redisTimeoutMilliseconds))
            let client: RedisClient
            do {
                client = try RedisClient(configuration: configuration, eventLoopGroup: group, logger: logger)
            } catch {
                logger.critical("cannot start: redis_url: the TLS settings for rediss:// cannot be loaded: \(error)")
                throw ExitCode(78)
            }
            redis = client
            let shared = SharedRedis(client: client, logger: logger, metrics: metrics)
            limits = RedisLimitStore(redis: shared, failClosed: resolved.limitsFailClosed)
            sharedCache = RedisResponseCache(redis: shared, maxBytes: min(resolved.cacheMaxBytes, 64 << 20))
            sharedCooldowns = RedisCooldownShare(redis: shared)
            logger.info("limits, budgets, the response cache and cooldowns are shared through Redis at \(url) (limits fail \(resolved.limitsFailClosed ? "closed" : "open") when it cannot answer)")
        }
        let gateway = Gateway(
            scripts: scriptHost, upstream: upstream, settings: gatewaySettings, configs: loadedConfigs,
            observer: RequestObserver(metrics: metrics, log: requestLog, logBodies: resolved.logBodies, pricing: pricing,
                                      tracer: tracer),
            limits: limits, sharedCache: sharedCache, sharedCooldowns: sharedCooldowns, logger: logger)
        let configStore = loadedConfigs
        let reloader = Reloader(scripts: scriptHost, configs: configStore, gateway: gateway, flags: flagValues,
                                settingsPath: settingsFile.path, logger: logger)
        let admin = resolved.adminToken.map(reloader.adminEndpoints(token:))
        var exposition: (@Sendable () -> [UInt8])?
        if resolved.metrics {
            exposition = {
                gateway.publishCacheStats()
                return registry.emitToBuffer()
            }
        }
        let server = GatewayHTTPServer(
            configuration: .init(host: host, port: port, maxRequestBodyBytes: maxBody, admin: admin,
                                 drainTimeout: .seconds(resolved.drainTimeout),
                                 metrics: exposition, idleTimeout: resolved.idleTimeout == 0 ? nil : .seconds(resolved.idleTimeout),
                                 limits: ClientLimits(headTimeout: resolved.headTimeout == 0 ? nil : .seconds(Int64(resolved.headTimeout)),
                                                      bodyMinRate: resolved.bodyMinRate, maxConnections: resolved.maxConnections)),
            gateway: gateway, group: group, logger: logger,
            onListening: { address in
                logger.info("switchboard listening on http://\(address.ipAddress ?? host):\(address.port ?? port)")
            })
        // The background loops (BackgroundServices.swift) and the server, in one group. A group shuts
        // down in reverse order: the server drains first, the request log flushes last.
        var background: [any Service] = []
        if let requestLog { background.append(LogFlusher(log: requestLog, metrics: metrics)) }
        background += [
            MemoryTrimmer(activity: gateway.observer.activity, scripts: scriptHost),
            ScriptWatcher(scripts: scriptHost, configs: configStore, pricing: pricing, logger: logger, metrics: metrics),
            HangupReloader(signals: await UnixSignalsSequence(trapping: .sighup), log: requestLog, logTarget: requestLogTarget,
                           logger: logger, reload: reloader.reloadAll(reason:)),
        ]
        // What starting left behind (script sources, the Lua compiler's garbage, settings) is freed
        // before serving, so the idle footprint does not wait for MemoryTrimmer's first idle period.
        generation.collectIdleGarbage()
        _ = sb_release_free_memory()
        // The exporters go first, so they shut down last and send what the drain produced.
        let services = ServiceGroup(configuration: .init(
            services: telemetryServices + background + [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await services.run()
        } catch {
            await upstream.shutdown()
            try? await redis?.shutdown()
            throw error
        }
        await upstream.shutdown()
        try? await redis?.shutdown()
    }
}
