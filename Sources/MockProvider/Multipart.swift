import Foundation
import MultipartKit
import NIOCore
import NIOHTTP1

/// A parsed `multipart/form-data` request body (RFC 7578): the upload endpoints' input
/// (images edits and variations, audio transcriptions and translations, files).
///
/// Why MultipartKit: vapor/multipart-kit is in the local package mirror and depends only on
/// SwiftNIO and swift-collections (no Vapor), so the mock does not carry a boundary scanner of its
/// own. Its streaming `MultipartParser` is used directly; the `Content-Disposition` parameters are
/// read here because the library keeps its parameter helper internal.
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
        // MultipartKit stops quietly at the end of a truncated body; a form without its closing
        // delimiter is an upload that did not arrive whole.
        let closing = Array("--\(boundary)--".utf8)
        guard request.body.readableBytesView.firstRange(of: closing) != nil else {
            throw .badRequest("The multipart/form-data body has no closing delimiter '--\(boundary)--': the upload is incomplete.")
        }
        var parts: [Part] = []
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in headers.append((name.lowercased(), value)) }
        parser.onBody = { chunk in body.append(contentsOf: chunk.readableBytesView) }
        parser.onPartComplete = {
            let disposition = headers.first { $0.0 == "content-disposition" }?.1 ?? ""
            parts.append(Part(
                name: Self.parameter("name", in: disposition) ?? "",
                filename: Self.parameter("filename", in: disposition),
                contentType: headers.first { $0.0 == "content-type" }?.1,
                body: body))
            headers = []
            body = []
        }
        do {
            try parser.execute(request.body)
        } catch {
            throw .badRequest("The multipart/form-data body could not be parsed.")
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
