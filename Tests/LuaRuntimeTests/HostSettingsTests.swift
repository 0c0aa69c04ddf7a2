import Foundation
import Logging
import Testing
@testable import LuaRuntime

/// `host_settings`: a provider declares which of its settings decide the upstream host.
@Suite struct HostSettingsTests {
    func file(_ name: String, _ source: String) -> ScriptSources.File {
        .init(name: name, displayPath: "providers/\(name).lua", source: source)
    }

    func build(_ files: [ScriptSources.File]) throws -> ScriptGeneration {
        try ScriptGeneration.build(number: 1, sources: ScriptSources(providers: files), vmCount: 1, limits: LuaLimits(),
                                   logger: Logger(label: "t"))
    }

    @Test func theDeclarationIsReadAndDefaultsToNone() throws {
        let generation = try build([
            file("regional", "return { host_settings = { 'region', 'zone' }, prepare = function(ctx) return { url = 'http://h' } end }"),
            file("plain", "return { prepare = function(ctx) return { url = 'http://h' } end }"),
        ])
        #expect(generation.providers["regional"]?.hostSettings == ["region", "zone"])
        #expect(generation.providers["plain"]?.hostSettings == [])
    }

    @Test func aMistypedDeclarationStopsTheLoadNamingTheFile() {
        for declaration in ["'region'", "{ 'region', 5 }", "{ region = true }"] {
            do {
                _ = try build([file("bad", "return { host_settings = \(declaration), prepare = function(ctx) return { url = 'http://h' } end }")])
                Issue.record("host_settings = \(declaration) must not load")
            } catch {
                #expect("\(error)".contains("providers/bad.lua: host_settings must be a list of setting names"), "\(error)")
            }
        }
        #expect(throws: GenerationError.self) {
            try build([file("bad", "return { credential_settings = 'secret', prepare = function(ctx) return { url = 'http://h' } end }")])
        }
    }

    @Test func bundledProvidersDeclareTheSettingsInTheirHost() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("providers").path
        let sources = try ScriptSources.read(providersDirectory: folder, scriptsDirectory: nil)
        let generation = try ScriptGeneration.build(number: 1, sources: sources, vmCount: 1, limits: LuaLimits(),
                                                    logger: Logger(label: "t"))
        #expect(generation.providers["azure-openai"]?.hostSettings == ["azure_resource_name", "resource_name"])
        #expect(generation.providers["bedrock"]?.hostSettings == ["aws_region"])
        #expect(generation.providers["vertex-ai"]?.hostSettings == ["vertex_region"])
        #expect(generation.providers["openai"]?.hostSettings == [])
        #expect(generation.providers["bedrock"]?.credentialSettings == ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"])
    }
}
