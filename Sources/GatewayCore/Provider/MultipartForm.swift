import CLuaShim
import NIOCore
import NIOHTTP1

/// What the gateway reads of a `multipart/form-data` upload (images edits and variations, audio
/// transcriptions and translations, files): that it is one, and its `model` field, which routing,
/// logs and provider scripts need as they need a JSON body's `model`.
///
/// The body itself is never decoded, copied or re-encoded: it goes upstream byte for byte with its
/// boundary. Only part headers are read; each part's content is skipped with one `memmem` for the
/// next delimiter, so a 25 MB audio file costs one scan (no per-byte Swift loop).
///
/// Written here rather than taken from a library: multipart-kit (the one in the package mirror)
/// parses every part into buffers, which is the copy this avoids; the gateway needs one field.
enum MultipartForm {
    /// The `model` field of a multipart request, nil when it has none. A body that is not a
    /// well-formed form (no boundary, no closing delimiter) is a 400 naming what is wrong.
    static func model(of request: IncomingRequest) throws(GatewayError) -> String? {
        let contentType = request.headers.first(name: "content-type") ?? ""
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "/v1/\(request.endpoint.rawValue) takes a multipart/form-data upload; the Content-Type was '\(contentType.prefix(100))'",
                               code: .invalidMultipart)
        }
        guard let boundary = boundary(in: contentType) else {
            throw GatewayError(status: 400, type: .invalidRequest,
                               message: "the multipart/form-data Content-Type has no boundary parameter",
                               code: .invalidMultipart)
        }
        guard let body = request.body, body.readableBytes > 0 else {
            throw GatewayError(status: 400, type: .invalidRequest, message: "the multipart/form-data body is empty",
                               code: .invalidMultipart)
        }
        let result = body.withUnsafeReadableBytes { bytes in field("model", in: bytes, boundary: Array(boundary.utf8)) }
        switch result {
        case .found(let value): return value
        case .absent: return nil
        case .malformed(let why):
            throw GatewayError(status: 400, type: .invalidRequest, message: "the multipart/form-data body is malformed: \(why)",
                               code: .invalidMultipart)
        }
    }

    /// The `boundary` parameter of a Content-Type, unquoted.
    static func boundary(in contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces.lowercased() == "boundary" else { continue }
            var value = pair[1].trimmingSpaces
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
            // RFC 2046: 1 to 70 characters.
            return value.isEmpty || value.utf8.count > 70 ? nil : String(value)
        }
        return nil
    }

    enum Lookup: Equatable {
        case found(String)
        case absent
        case malformed(String)
    }

    /// Finds the text field `name` in a form body. Parts are walked delimiter to delimiter to the
    /// closing one (a form cut short is malformed even when the field came before the cut); a
    /// field value over 1 KiB is not a model name and reads as malformed.
    static func field(_ name: String, in bytes: UnsafeRawBufferPointer, boundary: [UInt8]) -> Lookup {
        guard let base = bytes.baseAddress else { return .malformed("empty body") }
        let delimiter: [UInt8] = Array("\r\n--".utf8) + boundary
        let count = bytes.count
        // The first delimiter may open the body without the leading CRLF.
        var index: Int
        if count >= delimiter.count - 2 && bytes.starts(with: delimiter.dropFirst(2)) {
            index = delimiter.count - 2
        } else if let first = find(delimiter, in: base, from: 0, count: count) {
            index = first + delimiter.count
        } else {
            return .malformed("no '--\(String(decoding: boundary, as: UTF8.self))' delimiter")
        }
        let wanted = Array("name=\"\(name)\"".utf8)
        var found: String?
        while true {
            // After a delimiter: "--" closes the form, CRLF opens a part.
            if index + 2 <= count && bytes[index] == UInt8(ascii: "-") && bytes[index + 1] == UInt8(ascii: "-") {
                return found.map { .found($0) } ?? .absent
            }
            guard index + 2 <= count, bytes[index] == 13, bytes[index + 1] == 10 else {
                return .malformed("a delimiter is not followed by a line break")
            }
            let headersStart = index + 2
            guard let headersEnd = find(Array("\r\n\r\n".utf8), in: base, from: headersStart, count: count) else {
                return .malformed("a part's headers never end")
            }
            let contentStart = headersEnd + 4
            guard let next = find(delimiter, in: base, from: headersEnd + 2, count: count) else {
                return .malformed("the closing delimiter is missing (a cut upload?)")
            }
            let headers = UnsafeRawBufferPointer(rebasing: bytes[headersStart..<headersEnd])
            if found == nil, isField(wanted, headers: headers) {
                let end = max(contentStart, next)
                guard end - contentStart <= 1024 else { return .malformed("the '\(name)' field is over 1 KiB") }
                found = String(decoding: bytes[contentStart..<end], as: UTF8.self)
            }
            index = next + delimiter.count
        }
    }

    /// Whether a part's headers name the field: a `Content-Disposition: form-data` line with
    /// `name="<wanted>"` as a whole parameter (not `filename="…"`).
    private static func isField(_ wanted: [UInt8], headers: UnsafeRawBufferPointer) -> Bool {
        guard let base = headers.baseAddress else { return false }
        var from = 0
        while let at = find(wanted, in: base, from: from, count: headers.count) {
            let before = at > 0 ? headers[at - 1] : UInt8(ascii: " ")
            if before == UInt8(ascii: " ") || before == UInt8(ascii: ";") || before == 9 { return true }
            from = at + 1
        }
        return false
    }

    private static func find(_ needle: [UInt8], in base: UnsafeRawPointer, from: Int, count: Int) -> Int? {
        guard from < count else { return nil }
        return needle.withUnsafeBytes { needleBytes -> Int? in
            guard let found = sb_memmem(base + from, count - from, needleBytes.baseAddress, needleBytes.count) else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var value = self
        while value.first == " " || value.first == "\t" { value = value.dropFirst() }
        while value.last == " " || value.last == "\t" { value = value.dropLast() }
        return value
    }
}
