import Logging
import Testing
@testable import LuaRuntime

/// providers/lib/aws_sigv4.lua against AWS's published Signature V4 test suite vectors.
@Suite struct AWSSigV4Tests {
    func vm() throws -> LuaVM {
        let vm = try LuaVM(limits: LuaLimits(), logger: Logger(label: "t"))
        let sources = try ScriptSources.read(providersDirectory: ScriptGenerationTests.providersFolder, scriptsDirectory: nil)
        for library in sources.libraries {
            vm.registerLibrary(name: library.name, source: library.source, chunkName: library.displayPath)
        }
        return vm
    }

    func authorization(path: String, query: String) throws -> String? {
        try vm().evaluate("""
            local sigv4 = require("aws_sigv4")
            local headers = sigv4.sign { method = "GET", host = "example.amazonaws.com", path = "\(path)",
              query = "\(query)", payload = "", region = "us-east-1", service = "service",
              access_key = "AKIDEXAMPLE", secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
              time = 1440938160 }
            assert(headers["x-amz-date"] == "20150830T123600Z", headers["x-amz-date"])
            return headers.authorization
            """)
    }

    @Test func getVanilla() throws {
        #expect(try authorization(path: "/", query: "") ==
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaQueryOrderKeyCase() throws {
        #expect(try authorization(path: "/", query: "Param2=value2&Param1=value1") ==
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func amzDateAcrossLeapYearsAndCenturies() throws {
        let vm = try vm()
        for (epoch, expected) in [(0, "19700101T000000Z"), (951_782_400, "20000229T000000Z"), (4_107_542_399, "21000228T235959Z"),
                                  (1_764_072_000, "20251125T120000Z")] {
            #expect(try vm.evaluate("return require('aws_sigv4').amz_date(\(epoch))") == expected)
        }
    }
}
