import ArgumentParser
import CoreMetrics
import GatewayCore
import Logging
import OTel
import ServiceLifecycle
import Tracing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// OpenTelemetry export (traces and the GenAI metrics over OTLP/HTTP), resolved from the
/// `otel_*` settings, each of which falls back to its standard `OTEL_*` variable. Off unless an
/// endpoint is set; when off nothing of swift-otel is made, and a request pays one nil check.
struct TelemetrySettings: Equatable {
    /// The OTLP/HTTP base URL (`http://collector:4318`); signals go to `/v1/traces`, `/v1/metrics`.
    var endpoint: String
    var wireProtocol: String
    var serviceName: String
    var sampler: String
    var samplerRatio: Double
    var metrics: Bool
    var metricExportInterval: Int
    /// The resolved settings as the `OTEL_*` variables swift-otel reads (it applies them over any
    /// configuration it is given; setting them to the resolved values keeps a flag above them).
    var standardVariables: [String: String]

    static let protocols = ["http/protobuf", "http/json"]
    static let samplers = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
                           "parentbased_traceidratio"]

    /// nil when no endpoint is configured (tracing off).
    init?(_ settings: Settings, environment: [String: String]) throws {
        var exported: [String: String] = [:]
        func value(_ key: String, _ variable: String) throws -> String? {
            if let set = try settings.string(key) {
                exported[variable] = set
                return set
            }
            return environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return nil }
        guard let endpoint = try value("otel_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT")
            ?? environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://"), endpoint.count > 8 else {
            throw ValidationError("otel_endpoint must be an http:// or https:// URL (the OTLP/HTTP receiver, e.g. http://127.0.0.1:4318), got '\(endpoint)'")
        }
        self.endpoint = endpoint
        wireProtocol = try value("otel_protocol", "OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf"
        guard Self.protocols.contains(wireProtocol) else {
            let hint = wireProtocol == "grpc" ? " (this build exports over OTLP/HTTP only; collectors take it on port 4318)" : ""
            throw ValidationError("otel_protocol must be one of \(Self.protocols.joined(separator: ", ")), got '\(wireProtocol)'\(hint)")
        }
        serviceName = try value("otel_service_name", "OTEL_SERVICE_NAME") ?? "switchboard"
        sampler = try value("otel_traces_sampler", "OTEL_TRACES_SAMPLER") ?? "parentbased_always_on"
        guard Self.samplers.contains(sampler) else {
            throw ValidationError("otel_traces_sampler must be one of \(Self.samplers.joined(separator: ", ")), got '\(sampler)'")
        }
        let ratioText = try value("otel_traces_sampler_arg", "OTEL_TRACES_SAMPLER_ARG") ?? "1.0"
        guard let ratio = Double(ratioText), (0...1).contains(ratio) else {
            throw ValidationError("otel_traces_sampler_arg must be a number from 0 to 1, got '\(ratioText)'")
        }
        samplerRatio = ratio
        metrics = try settings.bool("otel_metrics", default: true)
        let intervalVariable = environment["OTEL_METRIC_EXPORT_INTERVAL"].flatMap { Int($0) }
        metricExportInterval = try settings.int("otel_metric_export_interval_ms", default: intervalVariable ?? 60_000,
                                                range: 100...3_600_000)
        // What swift-otel reads again from the environment is set to what was resolved here.
        exported["OTEL_EXPORTER_OTLP_PROTOCOL"] = wireProtocol
        exported["OTEL_SERVICE_NAME"] = serviceName
        exported["OTEL_TRACES_SAMPLER"] = sampler
        exported["OTEL_TRACES_SAMPLER_ARG"] = String(samplerRatio)
        exported["OTEL_METRIC_EXPORT_INTERVAL"] = String(metricExportInterval)
        standardVariables = exported
    }

    /// swift-otel's configuration: traces (and metrics, unless turned off) to the endpoint, its own
    /// log records off (the gateway logs through swift-log), its diagnostics through `logger`.
    func configuration(logger: Logger) -> OTel.Configuration {
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        let wire: OTel.Configuration.OTLPExporterConfiguration.`Protocol` = wireProtocol == "http/json" ? .httpJSON : .httpProtobuf
        configuration.traces.otlpExporter.endpoint = base + "/v1/traces"
        configuration.traces.otlpExporter.protocol = wire
        configuration.traces.sampler = switch sampler {
        case "always_on": .alwaysOn
        case "always_off": .alwaysOff
        case "traceidratio": .traceIDRatio(ratio: samplerRatio) ?? .alwaysOn
        case "parentbased_always_off": .parentBasedAlwaysOff
        case "parentbased_traceidratio": .parentBasedTraceIDRatio(ratio: samplerRatio) ?? .parentBasedAlwaysOn
        default: .parentBasedAlwaysOn
        }
        configuration.metrics.enabled = metrics
        configuration.metrics.otlpExporter.endpoint = base + "/v1/metrics"
        configuration.metrics.otlpExporter.protocol = wire
        configuration.metrics.exportInterval = .milliseconds(metricExportInterval)
        configuration.metrics.valueHistogramBuckets = GatewayMetrics.GenAIName.buckets
        return configuration
    }

    /// The tracer and the GenAI metrics factory, with the services that export them (to run in the
    /// service group: they flush what is left when it shuts down).
    func start(logger: Logger) throws -> (tracer: any Tracer, metrics: (any MetricsFactory)?, services: [any Service]) {
        for (name, value) in standardVariables { setenv(name, value, 1) }
        let configuration = configuration(logger: logger)
        let tracing = try OTel.makeTracingBackend(configuration: configuration)
        var services: [any Service] = [tracing.service]
        var factory: (any MetricsFactory)?
        if metrics {
            let backend = try OTel.makeMetricsBackend(configuration: configuration)
            factory = backend.factory
            services.append(backend.service)
        }
        return (tracing.factory, factory, services)
    }
}
