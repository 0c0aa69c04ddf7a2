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
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway (the default command).", usage: "switchboard [serve] [<options>]")

    // Lifecycle first: --config-file's help speaks of "the settings below".
    @OptionGroup(title: "Lifecycle") var lifecycle: LifecycleOptions

    @OptionGroup(title: "Network") var network: NetworkOptions

    @OptionGroup(title: "Scripts") var scriptOptions: ScriptOptions

    @OptionGroup(title: "Access") var access: AccessOptions

    @OptionGroup(title: "Limits") var limits: LimitOptions

    @OptionGroup(title: "Routing and cache") var routing: RoutingOptions

    @OptionGroup(title: "Observability") var observability: ObservabilityOptions

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

    /// The values given on the command line, by setting key (see ``Settings``).
    var flagValues: [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        for group in [network.flagValues, scriptOptions.flagValues, access.flagValues, limits.flagValues,
                      routing.flagValues, observability.flagValues, lifecycle.flagValues] {
            values.merge(group) { first, _ in first }
        }
        return values
    }

    func run() async throws {
        // Run Swift concurrency's jobs on NIO's event loops, so a request's handler, its upstream
        // call and its response writes stay on one thread instead of hopping between the
        // cooperative pool and the event loops. Only possible before any task has used the global
        // executor, which is why it is the first thing `serve` does.
        let loopCount = try Self.sizeEventLoops(flag: network.threads)
        let onEventLoops = EventLoopExecutor.install()
        let settings = try await Settings.load(flags: flagValues, filePath: lifecycle.settingsFile.path)
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
        assert(Set(resolved.restartOnly.keys).union(ServeSettings.reloadable).union(ServeSettings.comparedAsAnother)
                   == Set(Settings.keys),
               "ServeSettings.restartOnly and .reloadable must name every setting exactly")
        let reloader = Reloader(scripts: scriptHost, configs: configStore, gateway: gateway, flags: flagValues,
                                settingsPath: lifecycle.settingsFile.path, startedWith: resolved.restartOnly, logger: logger)
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
