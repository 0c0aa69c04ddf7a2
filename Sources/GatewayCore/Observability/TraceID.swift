import Synchronization

/// Trace ids for requests that bring none, shaped like a version-4 UUID.
///
/// Why not `UUID()`: on Linux it opened `/dev/urandom` and formatted with `snprintf` on every call,
/// about 5 % of the gateway's CPU per request in the passthrough profile. Here a per-process random
/// key and a counter go through SplitMix64's finalizer, a bijection, so ids never repeat within a
/// process and are not guessable from one another without the key.
enum TraceID {
    private static let key: (UInt64, UInt64) = {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }()
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        var high = mix(n ^ key.0)
        var low = mix(n &+ key.1)
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // RFC 4122 variant
        return format(high, low)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx`, lowercase.
    static func format(_ high: UInt64, _ low: UInt64) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { out in
            var index = 0
            func put(_ word: UInt64, nibbles: Range<Int>) {
                for nibble in nibbles {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        out[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    let shift = UInt64(60 - 4 * nibble)
                    out[index] = digits.utf8Start[Int((word >> shift) & 0xF)]
                    index += 1
                }
            }
            put(high, nibbles: 0..<16)
            put(low, nibbles: 0..<16)
            return index
        }
    }
}
