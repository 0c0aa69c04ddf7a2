import LuaRuntime
import NIOCore
import NIOHTTP1
import Testing
@testable import GatewayCore

@Suite struct MultipartFormTests {
    static func request(_ body: String, contentType: String = "multipart/form-data; boundary=XyZ") -> IncomingRequest {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        return IncomingRequest(endpoint: .transcriptions, method: .POST, path: "/audio/transcriptions", query: "",
                               headers: headers, body: ByteBuffer(string: body))
    }

    static let form = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model.wav\"\r\n"
        + "Content-Type: audio/wav\r\n\r\nRIFF name=\"model\"\r\n\r\nnot-this\r\n--XyZ\r\n"
        + "Content-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--XyZ\r\n"
        + "Content-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n--XyZ--\r\n"

    @Test func readsTheModelFieldAndNotTextInsideAFile() throws {
        // The file's content names "model" too, and its part's filename contains it: neither counts.
        #expect(try MultipartForm.model(of: Self.request(Self.form)) == "whisper-1")
    }

    @Test func aFormWithoutModelHasNone() throws {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--XyZ--\r\n"
        #expect(try MultipartForm.model(of: Self.request(body)) == nil)
    }

    @Test func quotedBoundariesAndAnEmptyModel() throws {
        let body = "--a b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n\r\n--a b--\r\n"
        #expect(try MultipartForm.model(of: Self.request(body, contentType: "multipart/form-data; boundary=\"a b\"")) == "")
    }

    @Test(arguments: [
        ("application/json", "takes a multipart/form-data upload"),
        ("multipart/form-data", "has no boundary"),
    ]) func refusesWhatIsNotAForm(_ contentType: String, _ message: String) {
        #expect {
            try MultipartForm.model(of: Self.request(Self.form, contentType: contentType))
        } throws: { error in
            let error = error as? GatewayError
            return error?.status == 400 && error?.message.contains(message) == true && error?.code == .invalidMultipart
        }
    }

    @Test func aCutUploadIsMalformed() {
        // The closing delimiter never comes: an upload cut short is refused, not sent on.
        let cut = String(Self.form.prefix(60))
        #expect {
            try MultipartForm.model(of: Self.request(cut))
        } throws: { error in
            (error as? GatewayError)?.message.contains("malformed") == true
        }
    }

    @Test func aFormCutAfterItsModelIsStillMalformed() {
        // The model came before the cut: reading it is not enough, the form must close.
        let cut = "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--XyZ\r\n"
            + "Content-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nabc"
        #expect {
            try MultipartForm.model(of: Self.request(cut))
        } throws: { error in
            (error as? GatewayError)?.message.contains("closing delimiter") == true
        }
    }

    @Test func theProviderContractNamesEveryEndpoint() {
        // LuaRuntime cannot see GatewayCore's Endpoint, so the list an endpoint table is checked
        // against is written twice; they must agree.
        let names = Set(Endpoint.allCases.filter { $0 != .passthrough }.map(\.rawValue)).union(["*"])
        #expect(names == ProviderInfo.knownEndpoints)
    }
}
