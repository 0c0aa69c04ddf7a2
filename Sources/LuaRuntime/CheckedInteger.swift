/// Integers from untrusted numbers (client configs and headers, upstream headers, script results)
/// without a trap.
///
/// `Int(someDouble)` traps when the value is NaN, infinite or out of range ("Double value cannot be
/// converted to Int"), and one such line let any client crash the process with
/// `{"retry":{"attempts":1e300}}`. Every untrusted number becomes an integer through here; a test
/// (`NoTrappingConversionTests`) fails when a new unchecked `Int(` / `Int64(` appears in the
/// gateway's sources.
public enum CheckedInteger {
    /// The integer `value` holds exactly, when it lies in `range`; nil for fractions, NaN,
    /// infinities and anything outside the range.
    ///
    ///     CheckedInteger.exact(3, in: 0...5)      // 3
    ///     CheckedInteger.exact(1e300, in: 0...5)  // nil
    public static func exact(_ value: Double, in range: ClosedRange<Int>) -> Int? {
        guard let integer = Int(exactly: value), range.contains(integer) else { return nil }
        return integer
    }

    /// `value` rounded toward zero and clamped into `range` (±infinity clamp to the ends); nil for NaN.
    /// For values an upstream sends that the gateway caps rather than refuses (`Retry-After`).
    public static func clamped(_ value: Double, to range: ClosedRange<Int>) -> Int? {
        guard !value.isNaN else { return nil }
        // Compare in Double first: Double(Int.max) rounds up to 2^63, which no Int holds.
        if value <= Double(range.lowerBound) { return range.lowerBound }
        if value >= Double(range.upperBound) { return range.upperBound }
        // Strictly inside a range of Ints, so the truncated value is representable.
        return Int(exactly: value.rounded(.towardZero)).map { min(max($0, range.lowerBound), range.upperBound) }
    }

    /// A decimal integer written as text (a header), when it lies in `range`; nil otherwise.
    public static func parse<S: StringProtocol>(_ text: S, in range: ClosedRange<Int>) -> Int? {
        guard let integer = Int(text, radix: 10), range.contains(integer) else { return nil }
        return integer
    }

    /// The HTTP status a script's number names, when it is a whole number in 100–599.
    public static func httpStatus(_ value: Double) -> Int? { exact(value, in: 100...599) }
}
