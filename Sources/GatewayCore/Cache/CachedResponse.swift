public import NIOCore

/// A complete upstream answer kept by ``ResponseCache``.
///
/// The body is a `ByteBuffer` so a hit is written to the client without copying it: buffers share
/// their storage.
public struct CachedResponse: Sendable {
    public var status: Int
    /// The `content-type` to answer with (the cache only holds JSON, but keeps the exact value).
    public var contentType: String
    public var body: ByteBuffer
    /// When the entry was stored; ``ResponseCache/store(_:_:now:)`` sets it.
    public var storedAt: ContinuousClock.Instant

    public init(status: Int, contentType: String = "application/json", body: ByteBuffer,
                storedAt: ContinuousClock.Instant = .now) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.storedAt = storedAt
    }

    /// How long ago the entry was stored (for an `age` header), never negative.
    public func age(now: ContinuousClock.Instant = .now) -> Duration {
        max(.zero, now - storedAt)
    }
}
