import ArgumentParser
import Foundation
import NIOCore

/// Options shared by both modes: what to send, where, with how many event loops, and how
/// to print the result.
struct CommonOptions: ParsableArguments {
    @Option(help: "Target URL; http only, loopback only (e.g. http://127.0.0.1:8787/v1/chat/completions).")
    var url: String

    @Option(name: .customLong("header"), help: "Request header 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "Request body; makes the request a POST.")
    var body: String?

    @Option(name: .customLong("body-file"), help: "Read the request body from a file; makes the request a POST.")
    var bodyFile: String?

    @Option(help: "Event loop threads.")
    var threads = 1

    @Flag(help: "Print one JSON object on stdout instead of a human summary.")
    var json = false

    func validate() throws {
        _ = try Target(parsing: url)
        _ = try parsedHeaders()
        if body != nil, bodyFile != nil {
            throw ValidationError("give either --body or --body-file, not both")
        }
        if let bodyFile {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: bodyFile, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isReadableFile(atPath: bodyFile)
            else {
                throw ValidationError("cannot read --body-file \(bodyFile)")
            }
        }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be in 1...256") }
    }

    /// Builds the request; reading `--body-file` happens here so a bad path is a usage error.
    func makeRequest(closeConnection: Bool, acceptEventStream: Bool) throws -> RequestTemplate {
        var bytes: [UInt8]?
        if let body { bytes = Array(body.utf8) }
        if let bodyFile {
            guard let data = FileManager.default.contents(atPath: bodyFile) else {
                throw ValidationError("cannot read --body-file \(bodyFile)")
            }
            bytes = Array(data)
        }
        return RequestTemplate(
            target: try Target(parsing: url),
            headers: try parsedHeaders(),
            body: bytes,
            closeConnection: closeConnection,
            acceptEventStream: acceptEventStream
        )
    }

    private func parsedHeaders() throws -> [(name: String, value: String)] {
        try headers.map { line in
            guard let colon = line.firstIndex(of: ":") else {
                throw ValidationError("--header must look like 'Name: value', got '\(line)'")
            }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let tokenCharacters = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~")
                .union(.alphanumerics)
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && tokenCharacters.contains($0) }),
                !value.contains(where: { $0 == "\r" || $0 == "\n" })
            else {
                throw ValidationError("--header has an invalid name or value: '\(line)'")
            }
            return (name, value)
        }
    }
}
