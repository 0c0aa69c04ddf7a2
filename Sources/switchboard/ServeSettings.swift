import ArgumentParser
import FoundationEssentials
import GatewayCore
import Logging
import LuaRuntime
import RedisClient
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every `serve` setting, resolved through ``Settings`` and validated, before anything starts:
/// `serve` runs from it, and `check --config-file` validates a settings file with it, so a value
/// that would stop the gateway also fails the check.
struct ServeSettings {
    var logLevel: Logger.Level
    var host: String
    var port: Int
    var maxBodySize: Int
    var upstreamTimeout: Int
    var maxImageSize: Int
    var imageFetchTimeout: Int
    var drainTimeout: Int
    var idleTimeout: Int
    /// Client connection limits (`head_timeout`, `body_min_rate`, `max_connections`).
    var headTimeout: Int
    var bodyMinRate: Int
    var maxConnections: Int
    var retryBackoffBase: Int
    var retryBackoffCap: Int
    /// Longest upstream `Retry-After` honoured, in milliseconds (a longer or absurd one is capped).
    var maxRetryAfter: Int
    var cooldownFailures: Int
    var cooldownSeconds: Int
    var cacheMaxBytes: Int
    var storeMaxBytes: Int
    var allowHosts: [String]
    var metrics: Bool
    var logBodies: Bool
    /// `stdout`, `stderr`, `off` or a file path.
    var requestLog: String
    var scripts: ScriptSettings
    var configs: String?
    /// The pricing folder: as set, or `./pricing` when it exists.
    var pricing: String?
    /// Where limits and budgets are shared (`redis://…`), when they are.
    var redisURL: String?
    var redisTimeoutMilliseconds: Int
    var limitsFailClosed: Bool
    var defaultConfig: String?
    /// From `gateway_keys` and the lines of `gateway_keys_file`.
    var gatewayKeys: [String]
    /// The gateway keys given as objects with limits, by key.
    var limitedGatewayKeys: [String: LimitedKey]
    /// `metadata_limits`: limits per value of a metadata field.
    var metadataLimits: MetadataLimits?
    /// JSON text from `virtual_keys` (environment or settings file) or `virtual_keys_file`.
    var virtualKeysJSON: String?
    var adminToken: String?
    /// OpenTelemetry export; nil when no OTLP endpoint is configured.
    var telemetry: TelemetrySettings?

    /// Half the process's file-descriptor limit less 64 (the other half is for each connection's
    /// upstream connection, and the 64 for the listener, scripts, logs and files), at most 10,000:
    /// past the cap a client gets a clear 503 rather than an accept, or an upstream connect, that
    /// fails for want of descriptors. (With exactly half, 10,000 streams under a limit of 20,000
    /// left the last streams' upstream connections without a descriptor: 502s, not 503s.)
    static func defaultMaxConnections() -> Int {
        var limit = rlimit()
        #if os(Linux)
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 10_000 }
        let usable = limit.rlim_cur > 64 ? limit.rlim_cur - 64 : 0
        return max(64, Int(min(10_000, usable / 2)))  // "unlimited" is the largest value
    }

    init(_ settings: Settings, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        telemetry = try TelemetrySettings(settings, environment: environment)
        logLevel = try parseLogLevel(try settings.string("log_level", default: "info"))
        host = try settings.string("host", default: "127.0.0.1")
        port = try settings.int("port", default: 8787, range: 0...65535)
        maxBodySize = try settings.int("max_body_size", default: 32 * 1024 * 1024, range: 1...Int(Int32.max))
        upstreamTimeout = try settings.int("upstream_timeout", default: 600, range: 1...86_400)
        maxImageSize = try settings.int("max_image_size", default: 10 * 1024 * 1024, range: 1...Int(Int32.max))
        imageFetchTimeout = try settings.int("image_fetch_timeout", default: 10, range: 1...600)
        drainTimeout = try settings.int("drain_timeout", default: 30, range: 0...3600)
        idleTimeout = try settings.int("idle_timeout", default: 75, range: 0...86_400)
        headTimeout = try settings.int("head_timeout", default: 30, range: 0...86_400)
        bodyMinRate = try settings.int("body_min_rate", default: 1024, range: 0...(1 << 30))
        maxConnections = try settings.int("max_connections", default: Self.defaultMaxConnections(), range: 0...10_000_000)
        retryBackoffBase = try settings.int("retry_backoff_base", default: 250, range: 0...60_000)
        retryBackoffCap = try settings.int("retry_backoff_cap", default: 8000, range: 0...600_000)
        maxRetryAfter = try settings.int("max_retry_after", default: 30_000, range: 0...3_600_000)
        cooldownFailures = try settings.int("cooldown_failures", default: 3, range: 0...1000)
        cooldownSeconds = try settings.int("cooldown_seconds", default: 30, range: 1...86_400)
        cacheMaxBytes = try settings.int("cache_max_bytes", default: 64 * 1024 * 1024, range: 0...(1 << 40))
        storeMaxBytes = try settings.int("store_max_bytes", default: 64 * 1024 * 1024, range: 0...(1 << 40))
        allowHosts = try settings.strings("allow_hosts")
        metrics = try settings.bool("metrics", default: true)
        logBodies = try settings.bool("log_bodies", default: false)
        requestLog = try settings.string("request_log", default: "stdout")
        scripts = try ScriptSettings(settings, maxBodySize: maxBodySize)
        configs = try settings.string("configs")
        redisURL = try settings.string("redis_url")
        if let text = redisURL {
            do throws(RedisURLError) {
                _ = try RedisURL(text)  // checked here too, so `switchboard check` refuses it (never echoing a password)
            } catch {
                throw ValidationError("redis_url: \(error.message)")
            }
        }
        redisTimeoutMilliseconds = try settings.int("redis_timeout_ms", default: 250, range: 10...60_000)
        limitsFailClosed = try settings.bool("limits_fail_closed", default: false)
        func isFolder(_ path: String) -> Bool {
            var info = stat()
            return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
        }
        if let folder = try settings.string("pricing") {
            guard isFolder(folder) else { throw ValidationError("pricing (--pricing) is not a folder: \(folder)") }
            pricing = folder
        } else {
            pricing = isFolder("./pricing") ? "./pricing" : nil
        }
        defaultConfig = try settings.string("default_config")
        if defaultConfig != nil && configs == nil {
            throw ValidationError("default_config (--default-config) needs configs (--configs): the folder it names a config in")
        }
        var keys = GatewayKeyList.Parsed()
        do {
            if let list = settings.fileSection("gateway_keys") {
                keys = try GatewayKeyList.parse(json: list)  // a list with key objects in the settings file
            } else {
                let listed = try settings.strings("gateway_keys")
                if listed.first?.hasPrefix("[") == true, let json = try settings.string("gateway_keys") {
                    keys = try GatewayKeyList.parse(json: json)  // SWITCHBOARD_GATEWAY_KEYS as a JSON list
                } else {
                    keys.keys = listed
                }
            }
            if let file = try settings.string("gateway_keys_file") {
                // One key per line, or a key object `{"key": …, "name": …, "limits": …}` on a line.
                let lines = try settings.readSecretFile(file, setting: "gateway_keys_file").split(whereSeparator: \.isNewline)
                for (number, line) in lines.enumerated() {
                    let text = String(line).trimmingWhitespace()
                    if text.isEmpty || text.hasPrefix("#") { continue }
                    if text.hasPrefix("{") {
                        try GatewayKeyList.add(objectLine: text, at: "line \(number + 1) of gateway_keys_file", to: &keys)
                    } else {
                        keys.keys.append(String(text.filter { !$0.isWhitespace }))
                    }
                }
            }
        } catch let error as KeyLimitsError {
            throw ValidationError(error.message)
        }
        gatewayKeys = keys.keys
        limitedGatewayKeys = keys.limited
        if let json = try settings.string("metadata_limits") ?? settings.fileSection("metadata_limits") {
            do throws(KeyLimitsError) {
                metadataLimits = try MetadataLimits.parse(json: json)
            } catch {
                throw ValidationError(error.message)
            }
        } else {
            metadataLimits = nil
        }
        virtualKeysJSON = try settings.string("virtual_keys") ?? settings.fileSection("virtual_keys")
        if let file = try settings.string("virtual_keys_file") {
            virtualKeysJSON = try settings.readSecretFile(file, setting: "virtual_keys_file")
        }
        adminToken = try settings.secret("admin_token")
    }

    /// The settings a reload does not apply (everything but the keys), by setting name, as text to
    /// compare: a reload that finds one changed says so instead of leaving the change silently
    /// unapplied. Never shown: some are secrets (`redis_url`, `admin_token`).
    var restartOnly: [String: String] {
        [
            "log_level": "\(logLevel)", "host": host, "port": "\(port)", "max_body_size": "\(maxBodySize)",
            "upstream_timeout": "\(upstreamTimeout)", "max_image_size": "\(maxImageSize)",
            "image_fetch_timeout": "\(imageFetchTimeout)", "drain_timeout": "\(drainTimeout)", "idle_timeout": "\(idleTimeout)",
            "head_timeout": "\(headTimeout)", "body_min_rate": "\(bodyMinRate)", "max_connections": "\(maxConnections)",
            "retry_backoff_base": "\(retryBackoffBase)", "retry_backoff_cap": "\(retryBackoffCap)",
            "max_retry_after": "\(maxRetryAfter)", "cooldown_failures": "\(cooldownFailures)",
            "cooldown_seconds": "\(cooldownSeconds)", "cache_max_bytes": "\(cacheMaxBytes)", "store_max_bytes": "\(storeMaxBytes)",
            "allow_hosts": "\(allowHosts)", "metrics": "\(metrics)", "log_bodies": "\(logBodies)", "request_log": requestLog,
            "providers": scripts.providers, "scripts": scripts.scripts, "plugins": scripts.plugins,
            "lua_vms": "\(scripts.vmCount)", "lua_memory_mb": "\(scripts.limits.memoryBytes)",
            "lua_instruction_budget": "\(scripts.limits.instructionBudget)",
            "lua_time_limit_ms": "\(scripts.limits.timeLimitMilliseconds)", "configs": configs ?? "",
            "pricing": pricing ?? "", "redis_url": redisURL ?? "", "redis_timeout_ms": "\(redisTimeoutMilliseconds)",
            "limits_fail_closed": "\(limitsFailClosed)", "default_config": defaultConfig ?? "", "admin_token": adminToken ?? "",
            "otel_endpoint": telemetry?.endpoint ?? "", "otel_protocol": telemetry?.wireProtocol ?? "",
            "otel_service_name": telemetry?.serviceName ?? "", "otel_traces_sampler": telemetry?.sampler ?? "",
            "otel_traces_sampler_arg": telemetry.map { "\($0.samplerRatio)" } ?? "",
            "otel_metrics": telemetry.map { "\($0.metrics)" } ?? "",
            "otel_metric_export_interval_ms": telemetry.map { "\($0.metricExportInterval)" } ?? "",
        ]
    }

    /// The settings a reload applies (``Reloader/reloadKeys(reason:)``). With ``restartOnly`` they
    /// are every key of ``Settings/keys``: serve asserts it at startup in debug builds (which the
    /// end-to-end suite runs), so a new setting cannot be left out of the reload's warning.
    static let reloadable: Set<String> = ["gateway_keys", "gateway_keys_file", "virtual_keys", "virtual_keys_file",
                                          "metadata_limits"]
    /// Settings compared through the one they are read into: `admin_token_file`'s content is the
    /// `admin_token` (a moved file with the same token is no change).
    static let comparedAsAnother: Set<String> = ["admin_token_file"]

    /// Names of the settings in ``restartOnly`` whose value differs from `started`'s, sorted.
    func restartOnlyChanges(since started: [String: String]) -> [String] {
        restartOnly.filter { started[$0.key] != $0.value }.map(\.key).sorted()
    }
}
