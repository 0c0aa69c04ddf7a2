import Foundation
import NIOCore
import NIOHTTP1

/// A parsed `multipart/form-data` request body (RFC 7578): the upload endpoints' input
/// (images edits and variations, audio transcriptions and translations, files).
///
/// Why by hand and not vapor/multipart-kit (in the package mirror, and it builds without Vapor):
/// the e2e tests run the mock as a debug build, where MultipartKit's byte-at-a-time parser took
/// 9 s for a 5 MB upload (0.55 MB/s); here the delimiters are found with `Data.range(of:in:)`,
/// which runs in the optimised Foundation library. Parts are walked delimiter to delimiter
/// (RFC 2046 §5.1.1); a body that never closes is a 400, since that is an upload cut short.
struct FormData {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        var body: [UInt8]
    }

    var parts: [Part]

    /// Parses `request`'s body; a request that is not `multipart/form-data` or whose body does not
    /// parse is a 400 in OpenAI's shape.
    init(_ request: MockRequest) throws(APIError) {
        let contentType = request.head.headers.first(name: "content-type") ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = Self.parameter("boundary", in: contentType), !boundary.isEmpty
        else {
            throw .badRequest("Expected a multipart/form-data body with a boundary, got content-type '\(contentType)'.")
        }
        let body = Data(request.body.readableBytesView)
        let crlf = Data("\r\n".utf8)
        let delimiter = Data("\r\n--\(boundary)".utf8)
        // The first delimiter may open the body without its CRLF.
        var index: Int
        if body.starts(with: delimiter.dropFirst(2)) {
            index = delimiter.count - 2
        } else if let first = body.range(of: delimiter) {
            index = first.upperBound
        } else {
            throw .badRequest("The multipart/form-data body has no '--\(boundary)' delimiter.")
        }
        var parts: [Part] = []
        while true {
            // After a delimiter: "--" closes the form, CRLF opens a part.
            if body.count >= index + 2, body[index] == UInt8(ascii: "-"), body[index + 1] == UInt8(ascii: "-") { break }
            guard body.count >= index + 2, body[index..<index + 2] == crlf else {
                throw .badRequest("The multipart/form-data body is malformed: a delimiter is not followed by a line break.")
            }
            guard let headersEnd = body.range(of: Data("\r\n\r\n".utf8), in: index..<body.count) else {
                throw .badRequest("The multipart/form-data body is malformed: a part's headers never end.")
            }
            guard let next = body.range(of: delimiter, in: headersEnd.lowerBound..<body.count) else {
                throw .badRequest("The multipart/form-data body has no closing delimiter '--\(boundary)--': the upload is incomplete.")
            }
            var headers: [(String, String)] = []
            let headerText = String(decoding: body[(index + 2)..<headersEnd.lowerBound], as: UTF8.self)
            for line in headerText.split(separator: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            let disposition = headers.first { $0.0 == "content-disposition" }?.1 ?? ""
            let contentStart = min(headersEnd.upperBound, next.lowerBound)
            parts.append(Part(
                name: Self.parameter("name", in: disposition) ?? "",
                filename: Self.parameter("filename", in: disposition),
                contentType: headers.first { $0.0 == "content-type" }?.1,
                body: [UInt8](body[contentStart..<next.lowerBound])))
            index = next.upperBound
        }
        guard !parts.isEmpty else { throw .badRequest("The multipart/form-data body has no parts.") }
        self.parts = parts
    }

    /// The last part called `name`.
    func part(_ name: String) -> Part? {
        parts.last { $0.name == name }
    }

    /// A text field, decoded as UTF-8.
    func field(_ name: String) -> String? {
        part(name).map { String(decoding: $0.body, as: UTF8.self) }
    }

    /// Every text value of a repeated field (`include[]`, `timestamp_granularities[]`).
    func fields(_ name: String) -> [String] {
        parts.filter { $0.name == name }.map { String(decoding: $0.body, as: UTF8.self) }
    }

    /// An integer field; a present but non-integer value is a 400.
    func int(_ name: String) throws(APIError) -> Int? {
        guard let text = field(name) else { return nil }
        guard let value = Int(text.trimmingWhitespace()) else {
            throw .badRequest("Invalid '\(name)': expected an integer, got '\(text)'.")
        }
        return value
    }

    /// A required file part.
    func file(_ name: String) throws(APIError) -> Part {
        guard let part = part(name) else { throw .badRequest("'\(name)' is a required file field.") }
        return part
    }

    /// A parameter of a header value (`boundary=…`, `name="…"`), quotes removed.
    static func parameter(_ key: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "="),
                  trimmed[..<equals].lowercased() == key.lowercased() else { continue }
            var raw = trimmed[trimmed.index(after: equals)...]
            if raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 { raw = raw.dropFirst().dropLast() }
            return String(raw)
        }
        return nil
    }
}
