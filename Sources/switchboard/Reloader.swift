import ArgumentParser
import Configuration
import FoundationEssentials
import GatewayCore
import GatewayServer
import Logging
import LuaRuntime
import NIOPosix

/// Reloads what the gateway reads from files while it serves — scripts and providers, routing
/// configs, gateway and virtual keys — for `POST /admin/reload` and SIGHUP, and answers
/// `GET /admin/scripts`. A reload that fails keeps what was in force and says why.
struct Reloader: Sendable {
    let scripts: ScriptHost
    let configs: ConfigStore?
    let gateway: Gateway
    /// Where the keys came from: the command line's flags and the settings file, read again.
    let flags: [String: ConfigContent]
    let settingsPath: String?
    /// ``ServeSettings/restartOnly`` as the gateway started with it.
    let startedWith: [String: String]
    let logger: Logger

    /// Gateway keys and virtual keys are read again from where they came from (settings file, key
    /// files, environment), so a leaked key can be rotated without a restart. A problem keeps the
    /// keys in force and is returned; key values never appear in messages.
    func reloadKeys(reason: String) async -> String? {
        do {
            let fresh = try ServeSettings(try await Settings.load(flags: flags, filePath: settingsPath))
            var virtualKeys = VirtualKeys()
            if let json = fresh.virtualKeysJSON {
                do throws(GatewayError) {
                    virtualKeys = try VirtualKeys(json: json, knownProviders: Set(scripts.current.providerIDs))
                } catch {
                    throw ValidationError(error.message)
                }
            }
            gateway.keys.replace(with: .init(gatewayKeys: fresh.gatewayKeys, virtualKeys: virtualKeys,
                                             limitedGatewayKeys: fresh.limitedGatewayKeys, metadataLimits: fresh.metadataLimits))
            logger.info("access keys reloaded (\(reason)): \(fresh.gatewayKeys.count) gateway keys, \(virtualKeys.entries.count) virtual keys")
            let unapplied = fresh.restartOnlyChanges(since: startedWith)
            if !unapplied.isEmpty {
                logger.warning("settings changed since start take effect only at a restart, not on reload (\(reason)): \(unapplied.joined(separator: ", "))")
            }
            return nil
        } catch {
            let message = (error as? ValidationError)?.message ?? "\(error)"
            logger.error("access keys not reloaded (\(reason)); the previous keys stay in force: \(message)")
            return message
        }
    }

    /// Everything, in order: keys, then scripts (on the blocking pool: compiling is CPU work), then
    /// the configs against the providers just loaded. The answer is the admin endpoint's.
    func reloadAll(reason: String) async -> (status: Int, json: String) {
        let keysProblem = await reloadKeys(reason: reason)
        let outcome = try? await NIOThreadPool.singleton.runIfActive { () -> (Int, String) in
            let result = scripts.reload(reason: reason)
            let configProblems = configs?.reload(knownProviders: Set(scripts.current.providerIDs), plugins: scripts.current.plugins) ?? []
            switch result {
            case .success(let next):
                let configText = configProblems.isEmpty ? "null" : JSONText.quote(configProblems.joined(separator: "\n"))
                let keys = keysProblem.map(JSONText.quote) ?? "null"
                return (200, #"{"reloaded":true,"generation":\#(next.number),"config_errors":\#(configText),"keys_error":\#(keys)}"#)
            case .failure(let error):
                return (422, #"{"reloaded":false,"generation":\#(scripts.current.number),"error":\#(JSONText.quote(error.description))}"#)
            }
        }
        return outcome ?? (503, #"{"reloaded":false,"error":"shutting down"}"#)
    }

    /// `GET /admin/scripts` (and the console's `GET /console/state`): what is loaded and how
    /// reloads went.
    func status() -> (status: Int, json: String) {
        let generation = scripts.current
        let status = scripts.status
        func list(_ items: [String]) -> String { "[" + items.map(JSONText.quote).joined(separator: ",") + "]" }
        var fields: [String] = []
        fields.append(#""generation":\#(generation.number)"#)
        fields.append(#""providers":\#(list(generation.providerIDs))"#)
        fields.append(#""libraries":\#(list(generation.libraries.sorted()))"#)
        fields.append(#""scripts":\#(list(generation.scripts))"#)
        fields.append(#""plugins":\#(list(generation.plugins.keys.sorted()))"#)
        fields.append(#""vms":\#(generation.vmCount)"#)
        fields.append(#""reloads":\#(status.reloads)"#)
        fields.append(#""failed_reloads":\#(status.failedReloads)"#)
        let lastError: String = status.lastError.map(JSONText.quote) ?? "null"
        fields.append(#""last_error":\#(lastError)"#)
        // Milliseconds since the epoch; null until the first reload (the start's load).
        let reloadedAt = status.lastReloadAt.map { String(Int64($0.timeIntervalSince1970 * 1000)) } ?? "null"
        fields.append(#""last_reload_at_ms":\#(reloadedAt)"#)
        fields.append(#""configs":\#(list(configs?.names ?? []))"#)
        fields.append(#""default_config":\#(configs?.defaultName.map(JSONText.quote) ?? "null")"#)
        // The console's provider table: where each provider came from and where it sends requests.
        let details = generation.providerIDs.compactMap { id in generation.providers[id] }.map { info in
            #"{"id":\#(JSONText.quote(info.id)),"name":\#(JSONText.quote(info.name)),"file":\#(JSONText.quote(info.file)),"#
                + #""base_url":\#(info.baseURL.map(JSONText.quote) ?? "null")}"#
        }
        fields.append(#""provider_details":[\#(details.joined(separator: ","))]"#)
        return (200, "{" + fields.joined(separator: ",") + "}")
    }

    /// The admin endpoints, behind `token`.
    func adminEndpoints(token: String) -> AdminEndpoints {
        AdminEndpoints(token: token) { action in
            switch action {
            case .reload: return await reloadAll(reason: "POST /admin/reload")
            case .scripts: return status()
            }
        }
    }
}
