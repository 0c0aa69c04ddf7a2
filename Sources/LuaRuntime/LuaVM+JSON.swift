import FoundationEssentials
import CLuaShim

extension LuaVM {
    /// Decodes JSON bytes with the C codec and pushes the value.
    func decodeJSON(_ bytes: [UInt8], script: String) throws(LuaError) {
        lua_pushcclosure(state, sb_json_decode_cfunction, 0)
        bytes.withUnsafeBufferPointer { buffer in
            _ = buffer.withMemoryRebound(to: CChar.self) { chars in
                lua_pushlstring(state, chars.baseAddress, chars.count)
            }
        }
        try call(arguments: 1, results: 1, script: script, timed: false)
    }

    /// Encodes the value at `index` to JSON bytes with the C codec (stack unchanged).
    func encodeJSON(at index: Int32, script: String) throws(LuaError) -> [UInt8] {
        let absolute = lua_absindex(state, index)
        lua_pushcclosure(state, sb_json_encode_cfunction, 0)
        lua_pushvalue(state, absolute)
        try call(arguments: 1, results: 1, script: script, timed: false)
        defer { sb_pop(state, 1) }
        return bytes(at: -1) ?? []
    }

    /// The bytes of the string at `index`.
    func bytes(at index: Int32) -> [UInt8]? {
        guard sb_isstring_exact(state, index) != 0 else { return nil }
        var length = 0
        guard let pointer = sb_tolstring(state, index, &length) else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    /// Runs a snippet of Lua in this VM and returns its first result converted with `tostring`.
    /// For tests and the `check` command; goes through the same sandbox and limits as scripts.
    public func evaluate(_ code: String, chunkName: String = "eval") throws(LuaError) -> String? {
        let base = lua_gettop(state)
        defer { lua_settop(state, base) }
        try runChunk(source: code, chunkName: chunkName)
        if sb_isnil(state, -1) != 0 { return nil }
        if let string = stringValue(at: -1) { return string }
        lua_getglobal(state, "tostring")
        lua_pushvalue(state, -2)
        try call(arguments: 1, results: 1, script: chunkName)
        return stringValue(at: -1)
    }
}

/// Fast validation of a JSON document without building a tree, noting the top-level
/// `"model"` and `"stream"` on the way.
public struct JSONScan: Sendable {
    public var isObject: Bool
    /// Top-level `"model"` string when present (escapes resolved only in the common no-escape case).
    public var model: String?
    /// Top-level `"stream"` when it is a boolean.
    public var stream: Bool?

    /// Why a document was rejected, with where.
    public struct Failure: Error, Sendable {
        public var reason: String
        public var offset: Int
        /// "line L, column C (byte B)"
        public var position: String
    }

    /// Scans `bytes`; throws ``Failure`` for malformed JSON, invalid UTF-8 or excessive nesting.
    public static func scan(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> JSONScan {
        var info = sb_scan_info()
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        let status = sb_json_scan(base, bytes.count, &info)
        if status != 0 {
            let reason = withUnsafeBytes(of: info.error) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            var where_ = [CChar](repeating: 0, count: 96)
            sb_json_position(base, bytes.count, info.error_offset, &where_, where_.count)
            let position = String(decoding: where_.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Failure(reason: reason, offset: info.error_offset, position: position)
        }
        var model: String?
        if info.model_offset >= 0 {
            let slice = UnsafeRawBufferPointer(rebasing: bytes[info.model_offset..<(info.model_offset + info.model_length)])
            let raw = String(decoding: slice, as: UTF8.self)
            model = info.model_has_escapes != 0 ? Self.unescape(raw) : raw
        }
        return JSONScan(
            isObject: info.is_object != 0, model: model,
            stream: info.stream < 0 ? nil : info.stream == 1)
    }

    /// Scans a byte array (see ``scan(_:)-(UnsafeRawBufferPointer)``).
    public static func scan(_ bytes: [UInt8]) throws(Failure) -> JSONScan {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(Failure) in try scan(raw) } }
        return try result.get()
    }

    /// Resolves escapes in an already validated JSON string body (rare for model names).
    private static func unescape(_ raw: String) -> String {
        let quoted = "\"" + raw + "\""
        return (try? JSONDecoder().decode(String.self, from: Data(quoted.utf8))) ?? raw
    }
}
