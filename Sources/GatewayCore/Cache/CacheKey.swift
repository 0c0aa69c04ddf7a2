public import NIOCore
import LuaRuntime

/// Identifies one cacheable request: provider, endpoint, provider credential and the request body
/// in a canonical form, hashed with SHA-256.
///
/// Only the digest is kept, so a cache full of entries holds no API key in clear and no request
/// text. Two requests share a key when they differ only in member order (at any depth), in
/// insignificant whitespace, in how strings are escaped (`"\u0041"` is `"A"`), or in the top-level
/// `stream` / `stream_options` fields, so a streaming request can be answered from a non-streaming
/// response and the other way round. Number literals are compared as written: `1` and `1.0` are
/// different keys, and so are two 20-digit seeds that a `Double` would round to the same value.
///
/// ```swift
/// let key = CacheKey.make(provider: "openai", endpoint: "chat/completions",
///                         credential: apiKey, body: requestBytes)  // nil: not cacheable
/// ```
public struct CacheKey: Hashable, Sendable {
    private let word0: UInt64
    private let word1: UInt64
    private let word2: UInt64
    private let word3: UInt64
    /// Length of the canonical request body, charged to the cache's byte budget for this entry.
    public let byteCount: Int

    /// Top-level request fields that do not change the answer, only how it is delivered.
    static let deliveryFields: Set<String> = ["stream", "stream_options"]

    /// The key of a request, or nil when the body is not a JSON object (malformed JSON, invalid
    /// UTF-8, a lone surrogate escape, or nesting deeper than ``JSONTree/maxDepth``): such a
    /// request is not cacheable.
    ///
    /// - Parameters:
    ///   - provider: the provider the request goes to; include anything else that changes the
    ///     upstream (a custom host, say), since the key only sees what is passed here.
    ///   - endpoint: e.g. `"chat/completions"`.
    ///   - credential: the provider credential actually sent upstream (nil when none).
    ///   - body: the request body as the client sent it.
    public static func make(provider: String, endpoint: String, credential: String?, body: [UInt8]) -> CacheKey? {
        body.withUnsafeBytes { make(provider: provider, endpoint: endpoint, credential: credential, raw: $0) }
    }

    /// The key of a request whose body is in a `ByteBuffer` (see ``make(provider:endpoint:credential:body:)-([UInt8])``).
    public static func make(provider: String, endpoint: String, credential: String?, body: ByteBuffer) -> CacheKey? {
        body.withUnsafeReadableBytes { make(provider: provider, endpoint: endpoint, credential: credential, raw: $0) }
    }

    private static func make(provider: String, endpoint: String, credential: String?,
                             raw: UnsafeRawBufferPointer) -> CacheKey? {
        guard case .object(let members)? = JSONTree.parse(raw) else { return nil }
        let body = JSONTree.object(members.filter { !deliveryFields.contains($0.key) })
        // Every field is length-prefixed so that ("ab", "c") and ("a", "bc") cannot collide, and
        // a missing credential differs from an empty one.
        var material = Array("switchboard.cache.v1".utf8)
        material.append(0)
        appendField(provider, to: &material)
        appendField(endpoint, to: &material)
        if let credential {
            material.append(1)
            appendField(credential, to: &material)
        } else {
            material.append(0)
        }
        let prefixCount = material.count
        material.reserveCapacity(prefixCount + raw.count)
        body.write(into: &material, sortedKeys: true)
        let digest = SHA256.digest(material)
        // Best effort: do not leave the credential behind in freed heap memory.
        material.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        guard digest.count == 32 else { return nil }
        func word(_ at: Int) -> UInt64 {
            digest[at..<(at + 8)].reduce(0) { $0 << 8 | UInt64($1) }
        }
        return CacheKey(word0: word(0), word1: word(8), word2: word(16), word3: word(24),
                        byteCount: material.count - prefixCount)
    }

    private static func appendField(_ text: String, to material: inout [UInt8]) {
        let count = UInt64(text.utf8.count)
        for shift in stride(from: 0, to: 64, by: 8) { material.append(UInt8(truncatingIfNeeded: count >> shift)) }
        material.append(contentsOf: text.utf8)
    }

    /// The digest in hex (64 characters): the entry's name in a shared cache.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for word in [word0, word1, word2, word3] {
            var rest = word
            var nibbles = [UInt8](repeating: 0, count: 16)
            for index in stride(from: 15, through: 0, by: -1) {
                nibbles[index] = digits[Int(truncatingIfNeeded: rest & 0xF)]
                rest >>= 4
            }
            out.append(contentsOf: nibbles)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The digest is already uniformly distributed, so one word is enough for the hash table.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(word0)
    }
}
