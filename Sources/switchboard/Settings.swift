import ArgumentParser
import Configuration
import FoundationEssentials
import Logging
import LuaRuntime

/// Where settings come from, first match wins: command-line flags, `SWITCHBOARD_*` environment
/// variables, the settings file (`--config-file`, JSON or YAML), then the built-in defaults.
///
/// Every setting has one name in three spellings: the file key `max_body_size`, the flag
/// `--max-body-size` and the variable `SWITCHBOARD_MAX_BODY_SIZE`. swift-configuration reads the
/// environment and the file (read by ``SettingsFile``); the precedence walk is ours, so an invalid
/// value is reported with where it came from (`SWITCHBOARD_PORT must be …`, `'port' in /etc/switchboard.yaml must be …`).
struct Settings: Sendable {
    /// Every key a settings file may hold; anything else stops startup (a typo must not be ignored).
    static let keys: [String] = [
        "host", "port", "log_level", "request_log", "log_bodies", "metrics", "max_body_size", "upstream_timeout",
        "allow_hosts", "max_image_size", "image_fetch_timeout", "retry_backoff_base", "retry_backoff_cap",
        "cooldown_failures", "cooldown_seconds", "cache_max_bytes", "store_max_bytes", "drain_timeout", "idle_timeout",
        "head_timeout", "body_min_rate", "max_connections", "configs", "default_config", "pricing",
        "redis_url", "redis_timeout_ms", "limits_fail_closed", "metadata_limits",
        "providers", "scripts", "plugins", "lua_vms", "lua_memory_mb", "lua_instruction_budget", "lua_time_limit_ms",
        "gateway_keys", "gateway_keys_file", "virtual_keys", "virtual_keys_file", "admin_token", "admin_token_file",
        "max_retry_after",
        "otel_endpoint", "otel_protocol", "otel_service_name", "otel_traces_sampler", "otel_traces_sampler_arg",
        "otel_metrics", "otel_metric_export_interval_ms",
    ]
    /// Redacted wherever settings are shown.
    static let secretKeys: Set<String> = ["gateway_keys", "virtual_keys", "admin_token", "redis_url"]

    enum Layer: Sendable { case flag, environment, file }

    private let layers: [(layer: Layer, provider: any ConfigProvider)]
    /// The settings file's path, when one is used.
    let filePath: String?
    /// Sections of the file that are structured rather than scalar (`virtual_keys`), as JSON text.
    private let fileSections: [String: String]
    /// Plain scalars' text in the file, by key, for a setting that reads one as another type.
    private let filePlainText: [String: String]

    /// - Parameters:
    ///   - flags: the values given on the command line, by setting key.
    ///   - filePath: `--config-file` (else `SWITCHBOARD_CONFIG_FILE`).
    static func load(flags: [String: ConfigContent], filePath flagPath: String?,
                     environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> Settings {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, content) in flags {
            values[AbsoluteConfigKey([key])] = ConfigValue(content, isSecret: secretKeys.contains(key))
        }
        // An empty variable means unset, as shells make it easy to export one by accident.
        let set = environment.filter { $0.key.hasPrefix("SWITCHBOARD_") && !$0.value.isEmpty }
        let secretVariables = Set(secretKeys.map { "SWITCHBOARD_" + $0.uppercased() })
        let env = EnvironmentVariablesProvider(environmentVariables: set, secretsSpecifier: .specific(secretVariables))
        var layers: [(Layer, any ConfigProvider)] = [
            (.flag, InMemoryProvider(name: "flags", values: values)),
            (.environment, env.prefixKeys(with: "switchboard")),
        ]
        let filePath = flagPath ?? set["SWITCHBOARD_CONFIG_FILE"]
        var sections: [String: String] = [:]
        var plainText: [String: String] = [:]
        if let filePath {
            let file = try SettingsFile.read(filePath, keys: keys) { secretKeys.contains($0) }
            layers.append((.file, file.provider))
            sections = file.sections
            plainText = file.plainText
        }
        return Settings(layers: layers, filePath: filePath, fileSections: sections, filePlainText: plainText)
    }

    /// How an operator names the setting in the layer it came from.
    func source(_ key: String, _ layer: Layer) -> String {
        switch layer {
        case .flag: "--" + key.replacing("_", with: "-")
        case .environment: "SWITCHBOARD_" + key.uppercased()
        case .file: "'\(key)' in \(filePath ?? "the settings file")"
        }
    }

    /// `SWITCHBOARD_*` variables that name no setting (a typo would otherwise be silently ignored).
    static func unknownVariables(in environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        let known = Set(keys.map { "SWITCHBOARD_" + $0.uppercased() } + ["SWITCHBOARD_CONFIG_FILE", "SWITCHBOARD_THREADS"])
        return environment.keys.filter { $0.hasPrefix("SWITCHBOARD_") && !known.contains($0) }.sorted()
    }

    /// The first layer that sets `key`, with where it came from.
    func lookup(_ key: String, as type: ConfigType, expecting: String) throws -> (content: ConfigContent, source: String)? {
        for (layer, provider) in layers {
            let result: LookupResult
            do {
                result = try provider.value(forKey: AbsoluteConfigKey([key]), type: type)
            } catch {
                if layer == .file, let text = filePlainText[key], let content = SettingsFile.coerce(text, to: type) {
                    return (content, source(key, layer))
                }
                throw ValidationError("\(source(key, layer)) must be \(expecting)")
            }
            if let value = result.value { return (value.content, source(key, layer)) }
        }
        return nil
    }

    func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let (content, source) = try lookup(key, as: .int, expecting: "a whole number"),
              case .int(let value) = content else { return fallback }
        guard range.contains(value) else {
            throw ValidationError("\(source) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let (content, _) = try lookup(key, as: .string, expecting: "a string"), case .string(let value) = content else {
            return nil
        }
        return value
    }

    func string(_ key: String, default fallback: String) throws -> String {
        try string(key) ?? fallback
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let (content, _) = try lookup(key, as: .bool, expecting: "true or false"), case .bool(let value) = content else {
            return fallback
        }
        return value
    }

    /// A list: repeated flags, a comma-separated variable, or a list in the file.
    func strings(_ key: String) throws -> [String] {
        guard let (content, _) = try lookup(key, as: .stringArray, expecting: "a list of strings"),
              case .stringArray(let values) = content else { return [] }
        return values.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// A structured section of the settings file, as JSON text.
    func fileSection(_ key: String) -> String? { fileSections[key] }

    /// The value of a secret that may also come from a file (`<key>_file`): the key itself wins.
    func secret(_ key: String) throws -> String? {
        if let value = try string(key) { return value }
        guard let path = try string(key + "_file") else { return nil }
        return try readSecretFile(path, setting: key + "_file").trimmingWhitespace()
    }

    func readSecretFile(_ path: String, setting: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(setting): \(path) does not exist or is not readable")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

extension String {
    /// Without leading and trailing whitespace and newlines (Foundation's `trimmingCharacters(in:)`
    /// is not in FoundationEssentials).
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else {
            return ""
        }
        return String(self[first...last])
    }
}

/// Levenshtein distance, for "did you mean" on misspelled setting names.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}

/// The settings file option, shared by `serve` and `check`.
struct SettingsFileOption: ParsableArguments {
    @Option(name: .customLong("config-file"), help: "Settings file (JSON, or YAML by .yaml/.yml) with any of the settings below by their snake_case names; flags and SWITCHBOARD_* variables override it. (env: SWITCHBOARD_CONFIG_FILE)")
    var path: String?
}

/// Options shared by `serve` and `check`: where the scripts are and how the Lua VMs are limited.
struct ScriptOptions: ParsableArguments {
    @Option(name: .customLong("providers"), help: "Folder of provider scripts. (env: SWITCHBOARD_PROVIDERS, default: ./providers)")
    var providersFlag: String?

    @Option(name: .customLong("scripts"), help: "Folder of middleware and route scripts. (env: SWITCHBOARD_SCRIPTS, default: ./scripts)")
    var scriptsFlag: String?

    @Option(name: .customLong("plugins"), help: "Folder of guardrail check plugins: plugins/<namespace>/<name>.lua is the check <namespace>.<name>, plugins/lib/ their libraries. (env: SWITCHBOARD_PLUGINS, default: ./plugins)")
    var pluginsFlag: String?

    @Option(name: .customLong("lua-vms"), help: "Lua VMs in the pool. (env: SWITCHBOARD_LUA_VMS, default: 2 per core)")
    var vmsFlag: Int?

    @Option(name: .customLong("lua-memory-mb"), help: "Memory cap per Lua VM in MiB. (env: SWITCHBOARD_LUA_MEMORY_MB, default: 4 × max_body_size, at least 64: 128 with the default body limit)")
    var memoryFlag: Int?

    @Option(name: .customLong("lua-instruction-budget"), help: "Instructions one script call may run. (env: SWITCHBOARD_LUA_INSTRUCTION_BUDGET, default: 10000000)")
    var budgetFlag: Int?

    @Option(name: .customLong("lua-time-limit-ms"), help: "Wall-clock milliseconds one script call may run; 0 = no limit. (env: SWITCHBOARD_LUA_TIME_LIMIT_MS, default: 1000)")
    var timeLimitFlag: Int?

    var flagValues: [String: ConfigContent] {
        var values: [String: ConfigContent] = [:]
        values["providers"] = providersFlag.map(ConfigContent.string)
        values["scripts"] = scriptsFlag.map(ConfigContent.string)
        values["plugins"] = pluginsFlag.map(ConfigContent.string)
        values["lua_vms"] = vmsFlag.map(ConfigContent.int)
        values["lua_memory_mb"] = memoryFlag.map(ConfigContent.int)
        values["lua_instruction_budget"] = budgetFlag.map(ConfigContent.int)
        values["lua_time_limit_ms"] = timeLimitFlag.map(ConfigContent.int)
        return values
    }
}

/// The script settings, resolved.
struct ScriptSettings {
    var providers: String
    var scripts: String
    var plugins: String
    var vmCount: Int
    var limits: LuaLimits

    /// The memory cap's default: 64 MiB, or four times the largest request body when that is more.
    /// A translating provider holds the body three times at its peak (the text, the decoded table,
    /// the translated text; measured: four base64 images making a 31.9 MB body need 96 MiB for
    /// anthropic, google and /v1/messages through a chat provider), so a body the gateway accepts
    /// is never refused by the script's cap instead.
    static func defaultMemoryMiB(maxBodySize: Int) -> Int {
        max(64, (4 * maxBodySize + (1 << 20) - 1) >> 20)
    }

    init(_ settings: Settings, maxBodySize: Int = 32 * 1024 * 1024) throws {
        providers = try settings.string("providers", default: "./providers")
        scripts = try settings.string("scripts", default: "./scripts")
        plugins = try settings.string("plugins", default: "./plugins")
        vmCount = try settings.int("lua_vms", default: 2 * ProcessInfo.processInfo.activeProcessorCount, range: 1...1024)
        limits = LuaLimits(
            memoryBytes: try settings.int("lua_memory_mb", default: Self.defaultMemoryMiB(maxBodySize: maxBodySize),
                                          range: 1...65536) * 1024 * 1024,
            instructionBudget: try settings.int("lua_instruction_budget", default: 10_000_000, range: 1000...Int.max),
            timeLimitMilliseconds: try settings.int("lua_time_limit_ms", default: 1000, range: 0...3_600_000))
    }
}

/// Parses a log level name, naming the setting when it is not one.
func parseLogLevel(_ text: String) throws -> Logger.Level {
    guard let level = Logger.Level(rawValue: text.lowercased()) else {
        let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        throw ValidationError("log_level (--log-level / SWITCHBOARD_LOG_LEVEL) must be one of \(names), got '\(text)'")
    }
    return level
}
