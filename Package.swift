// swift-tools-version:6.2
import PackageDescription

// Strict flags in every Swift target, as Hummingbird does.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "MockProvider", targets: ["MockProvider"]),
        .executable(name: "LoadGen", targets: ["LoadGen"]),
        .executable(name: "Microbench", targets: ["Microbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        // Layered settings (flags > environment > settings file). No traits: its JSON and YAML
        // file providers link full Foundation; the settings file is read by YAMLReader instead.
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: []),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        // OpenTelemetry traces and GenAI metrics over OTLP/HTTP. Only the HTTP exporter: the gRPC
        // one would add grpc-swift and HTTP/2 to every build for a second way to reach a collector.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
    ],
    targets: [
        // Lua 5.4 from Debian's liblua5.4-dev.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev", "libssl-dev"])]
        ),
        // libyaml from Debian's libyaml-dev, for settings files (YAMLReader).
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // A YAML (and JSON) reader on libyaml's event API, without Foundation.
        .target(
            name: "YAMLReader",
            dependencies: ["CYAML"],
            swiftSettings: swiftSettings
        ),
        // C glue: macro wrappers, protected-call trampolines, the capped allocator,
        // the instruction hook, and the JSON<->Lua codec.
        .target(
            name: "CLuaShim",
            dependencies: ["CLua"],
            cSettings: [.unsafeFlags(["-O2"])],
            // libcrypto is opened on first use (sb_crypto.h), not linked.
            linkerSettings: [.linkedLibrary("lua5.4")]
        ),
        .target(
            name: "LuaRuntime",
            dependencies: [
                "CLuaShim",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatewayCore",
            dependencies: [
                "LuaRuntime",
                "CLuaShim",  // sb_memmem (UsageScanner)
                "RedisClient",  // RedisLimitStore
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),  // the /v1/realtime proxy
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatewayServer",
            dependencies: [
                "GatewayCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),  // the /v1/realtime upgrade
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The console's files, compiled into the binary as byte arrays (`PackageResources.console_js`
            // and so on): no Foundation bundle, nothing to install beside the executable.
            resources: [
                .embedInCode("Console/login.html"),
                .embedInCode("Console/console.html"),
                .embedInCode("Console/console.js"),
                .embedInCode("Console/console.css"),
            ],
            swiftSettings: swiftSettings
        ),
        // A small RESP2 client on SwiftNIO for the shared state store (none in the package mirror).
        .target(
            name: "RedisClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "GatewayServer",
                "GatewayCore",
                "LuaRuntime",
                "RedisClient",
                "CLuaShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "YAMLReader",
            ],
            swiftSettings: swiftSettings,
            // The Swift runtime and FoundationEssentials linked in (dead-stripped), and lld's packed
            // relative relocations (DT_RELR) instead of 35,000 RELA entries (~0.8 MB mapped): idle RSS
            // (bench/idle-rss) in the commit that added this.
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-l_FoundationICU", "-lCoreFoundation", "-use-ld=lld",
                                          "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                                          "-Xlinker", "--no-export-dynamic", "-Xlinker", "--icf=safe"])],
            plugins: ["BuildInfoPlugin"]
        ),
        // Stamps the git commit into the switchboard module before each build (switchboard --version).
        // Under Sources/, not Plugins/: plugins/ holds the guardrail checks, and the two names are
        // one folder on a case-insensitive file system.
        .plugin(
            name: "BuildInfoPlugin",
            capability: .buildTool(),
            path: "Sources/BuildInfoPlugin",
            exclude: ["build-info.sh"]
        ),
        .executableTarget(
            name: "MockProvider",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),  // the Realtime mock
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmark tools (bench/run): a load generator for paced streams and fixed-rate latency,
        // and micro-benchmarks of the JSON codec and the Lua provider call.
        .target(name: "BenchSupport", swiftSettings: swiftSettings),
        .executableTarget(
            name: "LoadGen",
            dependencies: [
                "BenchSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Microbench",
            dependencies: [
                "BenchSupport",
                "LuaRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "YAMLReaderTests",
            dependencies: ["YAMLReader"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LuaRuntimeTests",
            dependencies: ["LuaRuntime"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayCoreTests",
            dependencies: [
                "GatewayCore",
                "LuaRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),  // the direct exchange runs on a real event loop
                // FuzzInvariants' request-head check runs NIO's HTTP/1 server pipeline in memory.
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),  // realtime relay tests
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayServer",
                "GatewayCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: [
                "RedisClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
