import ArgumentParser
import Configuration

// The serve flags, one `ParsableArguments` per topic. `Serve` includes each with
// `@OptionGroup(title:)`, which is what sorts `switchboard --help` into headed sections (NETWORK,
// SCRIPTS, ACCESS, …) instead of one list of fifty flags. Each group gives the flags that were set
// by setting key (`flagValues`), the map `Settings.load` takes; `Serve.flagValues` joins them.
// The scripts group is `ScriptOptions` (Settings.swift), shared with `check`.

/// Where the gateway listens, how many threads serve, and how long connections may take.
struct NetworkOptions: ParsableArguments {
    @Option(name: .customLong("host"), help: "Address to listen on. (env: SWITCHBOARD_HOST, default: 127.0.0.1)")
    var host: String?

    @Option(name: .customLong("port"), help: "Port to listen on; 0 picks a free one. (env: SWITCHBOARD_PORT, default: 8787)")
    var port: Int?

    @Option(name: .customLong("threads"), help: "Event loops (one thread each) that serve connections and run requests; a flag or environment setting only, as the loops start before the settings file is read. (env: SWITCHBOARD_THREADS, default: the number of cores)")
    var threads: Int?

    @Option(name: .customLong("max-connections"), help: "Client connections open at once; more are answered 503 too_many_connections and closed; 0 = no cap. (env: SWITCHBOARD_MAX_CONNECTIONS, default: half the open-file limit, at most 10000)")
    var maxConnections: Int?

    @Option(name: .customLong("idle-timeout"), help: "Seconds a client connection may stay silent between requests before it is closed, or in the middle of sending one before it gets 408; 0 = never. (env: SWITCHBOARD_IDLE_TIMEOUT, default: 75)")
    var idleTimeout: Int?

    @Option(name: .customLong("head-timeout"), help: "Seconds a client may take to send a request head, from its first byte (from the accept, for a connection's first request); slower heads get 408 and the connection closes; 0 = no deadline. (env: SWITCHBOARD_HEAD_TIMEOUT, default: 30)")
    var headTimeout: Int?

    @Option(name: .customLong("body-min-rate"), help: "Slowest average rate, in bytes per second, at which a request body must arrive after the first head-timeout seconds; slower uploads get 408; 0 = no minimum. (env: SWITCHBOARD_BODY_MIN_RATE, default: 1024)")
    var bodyMinRate: Int?

    @Option(name: .customLong("upstream-timeout"), help: "Seconds an upstream may stay silent before a 504. (env: SWITCHBOARD_UPSTREAM_TIMEOUT, default: 600)")
    var upstreamTimeout: Int?

    @Option(name: .customLong("image-fetch-timeout"), help: "Seconds a fetch of an image URL may take. (env: SWITCHBOARD_IMAGE_FETCH_TIMEOUT, default: 10)")
    var imageFetchTimeout: Int?

    /// `threads` is not a setting key: the event loops are sized before settings are read
    /// (`Serve.sizeEventLoops`).
    var flagValues: [String: ConfigContent] {
        givenFlags(strings: [("host", host)],
                   ints: [("port", port), ("max_connections", maxConnections), ("idle_timeout", idleTimeout),
                          ("head_timeout", headTimeout), ("body_min_rate", bodyMinRate),
                          ("upstream_timeout", upstreamTimeout), ("image_fetch_timeout", imageFetchTimeout)])
    }
}

/// Who may use the gateway, with which upstream credentials, and which private hosts it may call.
struct AccessOptions: ParsableArguments {
    @Option(name: .customLong("gateway-keys-file"), help: "File with one gateway key per line; when gateway keys are set (here, in SWITCHBOARD_GATEWAY_KEYS comma-separated, or gateway_keys in the settings file), every request must present one as x-portkey-api-key. (env: SWITCHBOARD_GATEWAY_KEYS_FILE)")
    var gatewayKeysFile: String?

    @Option(name: .customLong("virtual-keys-file"), help: "JSON file of virtual keys: {\"name\": {\"provider\": \"openai\", \"api_key\": \"sk-...\"}}, used as x-portkey-virtual-key or a config target's virtual_key. (env: SWITCHBOARD_VIRTUAL_KEYS_FILE, or the JSON itself in SWITCHBOARD_VIRTUAL_KEYS, or virtual_keys in the settings file)")
    var virtualKeysFile: String?

    @Option(name: .customLong("admin-token"), help: "Enables POST /admin/reload and GET /admin/scripts for requests that present this token (Authorization: Bearer <token>). Prefer SWITCHBOARD_ADMIN_TOKEN or --admin-token-file: a flag shows in the process list. (env: SWITCHBOARD_ADMIN_TOKEN)")
    var adminToken: String?

    @Option(name: .customLong("admin-token-file"), help: "File holding the admin token. (env: SWITCHBOARD_ADMIN_TOKEN_FILE)")
    var adminTokenFile: String?

    @Option(name: .customLong("allow-host"), help: "Host a client's x-portkey-custom-host may name even when it is private; repeatable. (env: SWITCHBOARD_ALLOW_HOSTS, comma-separated; file: allow_hosts)")
    var allowHosts: [String] = []

    var flagValues: [String: ConfigContent] {
        var values = givenFlags(strings: [("gateway_keys_file", gatewayKeysFile), ("virtual_keys_file", virtualKeysFile),
                                          ("admin_token", adminToken), ("admin_token_file", adminTokenFile)])
        if !allowHosts.isEmpty { values["allow_hosts"] = .stringArray(allowHosts) }
        return values
    }
}

/// Sizes the gateway accepts, and the rate limits' and budgets' store and prices.
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-body-size"), help: "Largest request body in bytes; larger ones get 413. (env: SWITCHBOARD_MAX_BODY_SIZE, default: 33554432)")
    var maxBodySize: Int?

    @Option(name: .customLong("max-image-size"), help: "Largest image, in bytes, fetched from a URL for providers that need images inline (Gemini, Bedrock). (env: SWITCHBOARD_MAX_IMAGE_SIZE, default: 10485760)")
    var maxImageSize: Int?

    @Option(name: .customLong("redis-url"), help: "Keep rate-limit windows and budgets in Redis, shared by every replica: redis://[user:password@]host:port[/db], rediss:// for TLS. Without it they live in this process. (env: SWITCHBOARD_REDIS_URL)")
    var redisURL: String?

    @Option(name: .customLong("redis-timeout-ms"), help: "Longest wait for one Redis command before the limits' failure policy applies. (env: SWITCHBOARD_REDIS_TIMEOUT_MS, default: 250)")
    var redisTimeout: Int?

    @Option(name: .customLong("limits-fail-closed"), help: "When Redis cannot answer, refuse limited keys' requests with 503 (true) instead of letting them through uncounted with a warning (false). (env: SWITCHBOARD_LIMITS_FAIL_CLOSED, default: false)")
    var limitsFailClosed: Bool?

    @Option(name: .customLong("pricing"), help: "Folder of pricing tables (<provider>.json; pricing/README.md): each request's cost_usd, the cost metric and key budgets; re-read when files change. (env: SWITCHBOARD_PRICING, default: ./pricing when it exists)")
    var pricing: String?

    var flagValues: [String: ConfigContent] {
        givenFlags(strings: [("redis_url", redisURL), ("pricing", pricing)],
                   ints: [("max_body_size", maxBodySize), ("max_image_size", maxImageSize), ("redis_timeout_ms", redisTimeout)],
                   bools: [("limits_fail_closed", limitsFailClosed)])
    }
}

/// Named routing configs, retries and cooldowns of their targets, and the in-memory caches.
struct RoutingOptions: ParsableArguments {
    @Option(name: .customLong("configs"), help: "Folder of named routing configs (<name>.json), used as 'x-portkey-config: <name>'; re-read when files change. (env: SWITCHBOARD_CONFIGS)")
    var configs: String?

    @Option(name: .customLong("default-config"), help: "Config (by name) for requests with neither x-portkey-provider nor x-portkey-config. (env: SWITCHBOARD_DEFAULT_CONFIG)")
    var defaultConfig: String?

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

    var flagValues: [String: ConfigContent] {
        givenFlags(strings: [("configs", configs), ("default_config", defaultConfig)],
                   ints: [("retry_backoff_base", retryBackoffBase), ("retry_backoff_cap", retryBackoffCap),
                          ("max_retry_after", maxRetryAfter), ("cooldown_failures", cooldownFailures),
                          ("cooldown_seconds", cooldownSeconds), ("cache_max_bytes", cacheMaxBytes),
                          ("store_max_bytes", storeMaxBytes)])
    }
}

/// Logs, Prometheus metrics, and OpenTelemetry traces and metrics.
struct ObservabilityOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. (env: SWITCHBOARD_LOG_LEVEL, default: info)")
    var logLevel: String?

    @Option(name: .customLong("request-log"), help: "Where the one-JSON-line-per-request log goes: stdout, stderr, off, or a file path (appended). (env: SWITCHBOARD_REQUEST_LOG, default: stdout)")
    var requestLog: String?

    @Option(name: .customLong("log-bodies"), help: "Include request and response bodies (up to 64 KiB each) in the request log: true or false. (env: SWITCHBOARD_LOG_BODIES, default: false)")
    var logBodies: Bool?

    @Option(name: .customLong("metrics"), help: "Serve Prometheus metrics on GET /metrics: true or false. (env: SWITCHBOARD_METRICS, default: true)")
    var metrics: Bool?

    @Option(name: .customLong("otel-endpoint"), help: "OTLP/HTTP endpoint to export traces and GenAI metrics to (http://host:4318); tracing is off without it or OTEL_EXPORTER_OTLP_ENDPOINT. (env: SWITCHBOARD_OTEL_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT)")
    var otelEndpoint: String?

    @Option(name: .customLong("otel-protocol"), help: "http/protobuf or http/json. (env: SWITCHBOARD_OTEL_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL, default: http/protobuf)")
    var otelProtocol: String?

    @Option(name: .customLong("otel-service-name"), help: "service.name on every span and metric. (env: SWITCHBOARD_OTEL_SERVICE_NAME or OTEL_SERVICE_NAME, default: switchboard)")
    var otelServiceName: String?

    @Option(name: .customLong("otel-traces-sampler"), help: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio. (env: SWITCHBOARD_OTEL_TRACES_SAMPLER or OTEL_TRACES_SAMPLER, default: parentbased_always_on)")
    var otelTracesSampler: String?

    @Option(name: .customLong("otel-traces-sampler-arg"), help: "The ratio for the traceidratio samplers, 0 to 1. (env: SWITCHBOARD_OTEL_TRACES_SAMPLER_ARG or OTEL_TRACES_SAMPLER_ARG, default: 1.0)")
    var otelTracesSamplerArg: String?

    @Option(name: .customLong("otel-metrics"), help: "Export the GenAI metrics (gen_ai.client.token.usage, …) over OTLP too: true or false. (env: SWITCHBOARD_OTEL_METRICS, default: true when an endpoint is set)")
    var otelMetrics: Bool?

    @Option(name: .customLong("otel-metric-export-interval-ms"), help: "Milliseconds between OTLP metric exports. (env: SWITCHBOARD_OTEL_METRIC_EXPORT_INTERVAL_MS or OTEL_METRIC_EXPORT_INTERVAL, default: 60000)")
    var otelMetricExportIntervalMilliseconds: Int?

    var flagValues: [String: ConfigContent] {
        givenFlags(strings: [("log_level", logLevel), ("request_log", requestLog), ("otel_endpoint", otelEndpoint),
                             ("otel_protocol", otelProtocol), ("otel_service_name", otelServiceName),
                             ("otel_traces_sampler", otelTracesSampler), ("otel_traces_sampler_arg", otelTracesSamplerArg)],
                   ints: [("otel_metric_export_interval_ms", otelMetricExportIntervalMilliseconds)],
                   bools: [("log_bodies", logBodies), ("metrics", metrics), ("otel_metrics", otelMetrics)])
    }
}

/// The settings file, and how the gateway stops.
struct LifecycleOptions: ParsableArguments {
    @OptionGroup var settingsFile: SettingsFileOption

    @Option(name: .customLong("drain-timeout"), help: "Seconds requests and streams in flight may take to finish after SIGTERM/SIGINT; then they are ended (streams with an error event). (env: SWITCHBOARD_DRAIN_TIMEOUT, default: 30)")
    var drainTimeout: Int?

    /// `config_file` is not a setting key: it says where the settings are (`Settings.load`'s `filePath`).
    var flagValues: [String: ConfigContent] {
        givenFlags(ints: [("drain_timeout", drainTimeout)])
    }
}

/// The flags that were given, by setting key; a flag left out is absent, so the environment, the
/// settings file or the default decides.
private func givenFlags(strings: [(String, String?)] = [], ints: [(String, Int?)] = [],
                        bools: [(String, Bool?)] = []) -> [String: ConfigContent] {
    var values: [String: ConfigContent] = [:]
    for case let (key, value?) in strings { values[key] = .string(value) }
    for case let (key, value?) in ints { values[key] = .int(value) }
    for case let (key, value?) in bools { values[key] = .bool(value) }
    return values
}
