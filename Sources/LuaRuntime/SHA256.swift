import CLuaShim

/// SHA-256 for the host, from the libcrypto that `CLuaShim` already links for `gw.sha256`.
///
/// A thin wrapper rather than a Swift implementation or another package: the C library is linked
/// anyway, is constant-time where it matters and is fast on large inputs (request bodies can be
/// megabytes of base64 images).
public enum SHA256 {
    /// The 32-byte digest of `bytes`, or an empty array if libcrypto failed (callers must check
    /// the count rather than use a zero digest).
    ///
    /// ```swift
    /// let digest = SHA256.digest(Array("abc".utf8))  // ba7816bf…
    /// ```
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let status = bytes.withUnsafeBytes { input in
            out.withUnsafeMutableBufferPointer { output in
                sb_sha256(input.baseAddress, input.count, output.baseAddress)
            }
        }
        return status == 0 ? out : []
    }
}
