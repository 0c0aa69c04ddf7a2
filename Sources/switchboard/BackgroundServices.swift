import CLuaShim
import GatewayCore
import Logging
import LuaRuntime
import NIOPosix
import ServiceLifecycle
import UnixSignals

// The gateway's background loops, each a `Service` in the one `ServiceGroup` (Serve.swift), so they
// start and stop with the server: on SIGTERM the server drains first (it is last in the group's
// list, and a group shuts down in reverse order), then these stop, the request log flushing last.
// Their work runs on NIO's blocking thread pool, never on an event loop.

/// Hands freed heap back to the system once the gateway is idle (nothing in flight, and no request
/// started for one period), so it returns to its idle footprint after a burst. Never under load:
/// malloc_trim holds glibc's allocator locks while it walks the heap, which stalled 500 concurrent
/// streams by over 200 ms (bench/run, 2026-11-26). Lua garbage is collected first (it pins pages).
struct MemoryTrimmer: Service {
    let activity: RequestObserver.Activity
    let scripts: ScriptHost
    var period: Duration = .seconds(2)

    func run() async throws {
        var seen = activity.total
        var trimmedAt: UInt64?
        while !Task.isShuttingDownGracefully {
            guard (try? await cancelOnGracefulShutdown({ try await Task.sleep(for: period) })) != nil else { return }
            let total = activity.total
            defer { seen = total }
            guard total == seen, activity.current == 0 else { continue }
            // Every idle period: close Lua VMs built for a burst once they sat unused for a whole
            // period (LuaPool.retireIdleVMs); once per idle stretch: collect and trim.
            let trim = trimmedAt != total
            trimmedAt = total
            let scripts = self.scripts
            try? await NIOThreadPool.singleton.runIfActive {
                let retired = scripts.current.retireIdleVMs()
                if trim { scripts.current.collectIdleGarbage() }
                if trim || retired > 0 { _ = sb_release_free_memory() }
            }
        }
    }
}

/// Script and config files take effect within about a second of changing (checked every 500 ms);
/// a broken edit keeps what is live and logs the error.
struct ScriptWatcher: Service {
    let scripts: ScriptHost
    let configs: ConfigStore?
    let pricing: PricingStore
    let logger: Logger
    let metrics: GatewayMetrics

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            guard (try? await cancelOnGracefulShutdown({ try await Task.sleep(for: .milliseconds(500)) })) != nil else { return }
            let (scripts, configs, pricing, logger, metrics) = (self.scripts, self.configs, self.pricing, self.logger, self.metrics)
            try? await NIOThreadPool.singleton.runIfActive {
                scripts.reloadIfChanged()
                configs?.reload(knownProviders: Set(scripts.current.providerIDs), plugins: scripts.current.plugins)
                switch pricing.reloadIfChanged(knownProviders: { Set(scripts.current.providerIDs) }) {
                case .success(let models)?:
                    logger.info("pricing reloaded: \(models) models")
                    metrics.reloaded(kind: "pricing", succeeded: true)
                case .failure(let error)?:
                    logger.error("pricing not reloaded, the previous table stays: \(error.message)")
                    metrics.reloaded(kind: "pricing", succeeded: false)
                case nil:
                    break
                }
            }
        }
    }
}

/// Writes request log lines in batches (see `LineWriter`), and what is left when the gateway stops.
struct LogFlusher: Service {
    let log: LineWriter
    let metrics: GatewayMetrics

    func run() async throws {
        defer { _ = log.flush() }
        while !Task.isShuttingDownGracefully {
            guard (try? await cancelOnGracefulShutdown({ try await Task.sleep(for: .milliseconds(100)) })) != nil else { return }
            let log = self.log
            let dropped = (try? await NIOThreadPool.singleton.runIfActive { log.flush() }) ?? 0
            if dropped > 0 { metrics.requestLogDropped(dropped) }
        }
    }
}

/// SIGHUP reloads everything, as operators expect of a daemon: the request log file is reopened
/// (for logrotate), then scripts and configs are reloaded. The signal is trapped before the group
/// starts (`signals`), so a SIGHUP right after startup never takes the default action (exit).
struct HangupReloader: Service {
    let signals: UnixSignalsSequence
    let log: LineWriter?
    let logTarget: String
    let logger: Logger
    let reload: @Sendable (String) async -> (status: Int, json: String)

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            if let log, logTarget != "stdout", logTarget != "stderr" {
                let problem = try? await NIOThreadPool.singleton.runIfActive { () -> String? in
                    do throws(GatewayError) {
                        try log.reopen()
                        return nil
                    } catch {
                        return error.message
                    }
                }
                if let problem { logger.error("request log not reopened: \(problem)") } else {
                    logger.info("request log reopened: \(logTarget)")
                }
            }
            _ = await reload("SIGHUP")
        }
    }
}
