import NIOHTTP1
import Testing
@testable import GatewayCore

/// A stored key goes only to the host its operator configured with it.
@Suite struct CredentialScopeTests {
    let keys = try! VirtualKeys(json: """
        {"vk-openai": {"provider": "openai", "api_key": "sk-stored"},
         "vk-local": {"provider": "openai", "api_key": "sk-stored", "custom_host": "http://127.0.0.1:9/v1", "region": "operator"},
         "vk-open": {"provider": "openai", "api_key": "sk-open", "allow_custom_host": true}}
        """, knownProviders: ["openai", "groq"])

    func options(_ pairs: [(String, String)]) throws(GatewayError) -> RequestOptions {
        var fields = HTTPHeaders()
        for (name, value) in pairs { fields.add(name: name, value: value) }
        return try RequestOptions.parse(fields, policy: CustomHostPolicy())
    }

    func refusal(_ options: RequestOptions, provider: String = "openai") -> GatewayError? {
        do throws(GatewayError) {
            try CredentialScope.check(options, provider: provider)
            return nil
        } catch {
            return error
        }
    }

    @Test func aClientHostWithAVirtualKeyIsRefused() throws {
        for name in ["vk-openai", "vk-local"] {
            var request = try options([("x-portkey-custom-host", "http://127.0.0.1:8/v1")])
            try keys.apply(name, to: &request)
            #expect(request.customHost == "http://127.0.0.1:8/v1", "the client's host is kept, to be refused, not replaced")
            let error = refusal(request)
            #expect(error?.status == 400 && error?.code == "custom_host_with_stored_key")
            #expect(error?.message.contains("virtual key '\(name)'") == true && error?.message.contains("sk-stored") == false)
        }
    }

    @Test func theOperatorsHostAndTheClientsOwnKeyPass() throws {
        var request = try options([("x-portkey-custom-host", "http://127.0.0.1:8/v1"), ("x-portkey-region", "client")])
        try keys.apply("vk-open", to: &request)
        #expect(refusal(request) == nil && request.apiKey == "sk-open" && request.customHost == "http://127.0.0.1:8/v1")
        var local = try options([("x-portkey-region", "client")])
        try keys.apply("vk-local", to: &local)
        #expect(refusal(local) == nil && local.customHostSource == .virtualKey)
        #expect(local.settings.filter { $0.0 == "region" }.map(\.1) == ["operator"], "the entry's settings win")
        let own = try options([("x-portkey-custom-host", "http://127.0.0.1:8/v1"), ("authorization", "Bearer sk-mine")])
        #expect(refusal(own) == nil)
    }

    @Test func aStoredKeyIsNotLentToAnotherProvider() throws {
        var request = try options([])
        try keys.apply("vk-local", to: &request)
        #expect(refusal(request, provider: "groq")?.code == "stored_key_provider_mismatch")
    }

    func refusal(_ options: RequestOptions, hostSettings: Set<String>) -> GatewayError? {
        do throws(GatewayError) {
            try CredentialScope.check(options, provider: "openai", hostSettings: hostSettings)
            return nil
        } catch {
            return error
        }
    }

    /// A setting the provider declares in `host_settings` decides the host: a client's value with a
    /// stored key is a client-chosen host.
    @Test func aClientsHostSettingWithAVirtualKeyIsRefused() throws {
        var request = try options([("x-portkey-resource-name", "evil")])
        try keys.apply("vk-openai", to: &request)
        let error = refusal(request, hostSettings: ["resource_name", "region"])
        #expect(error?.status == 400 && error?.code == "custom_host_with_stored_key")
        #expect(error?.param == "x-portkey-resource-name")
        #expect(error?.message.contains("'resource_name'") == true && error?.message.contains("virtual key 'vk-openai'") == true)
        #expect(error?.message.contains("evil") == false && error?.message.contains("sk-stored") == false)
        // Not declared by this provider: a plain setting.
        #expect(refusal(request, hostSettings: ["region"]) == nil)
    }

    @Test func theOperatorsHostSettingsAndTheClientsOwnKeyPass() throws {
        // The entry's own value wins over the client's and is the operator's.
        var local = try options([("x-portkey-region", "client")])
        try keys.apply("vk-local", to: &local)
        #expect(refusal(local, hostSettings: ["region"]) == nil)
        #expect(local.settings.filter { $0.0 == "region" }.map(\.1) == ["operator"])
        // allow_custom_host lets the key travel, settings included.
        var open = try options([("x-portkey-region", "client")])
        try keys.apply("vk-open", to: &open)
        #expect(refusal(open, hostSettings: ["region"]) == nil)
        // The client's own key goes where the client says.
        let own = try options([("x-portkey-region", "client"), ("authorization", "Bearer sk-mine")])
        #expect(refusal(own, hostSettings: ["region"]) == nil)
    }

    @Test func allowCustomHostMustBeABoolean() {
        #expect(throws: GatewayError.self) {
            try VirtualKeys(json: #"{"k": {"provider": "openai", "allow_custom_host": "yes"}}"#, knownProviders: ["openai"])
        }
    }
}
