public import NIOCore

/// One server-sent event: its `event:` name (nil for the default "message") and its `data:` lines
/// joined with "\n".
public struct SSEEvent: Sendable, Equatable {
    public var name: String?
    public var data: [UInt8]

    public init(name: String?, data: [UInt8]) {
        self.name = name
        self.data = data
    }
}

/// Splits an upstream `text/event-stream` into events as bytes arrive, however the bytes are cut.
///
/// Follows the WHATWG event-stream rules the providers rely on: lines end in LF, CRLF or CR; an
/// empty line dispatches the event; `:` starts a comment; `data:` lines accumulate (one optional
/// space after the colon is dropped); unknown fields (`id`, `retry`) are ignored. Hand-written:
/// no package in the mirror parses SSE from NIO buffers incrementally, and it is short.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var name: String?
    private var data: [UInt8] = []
    private var hasData = false
    private var lastWasCR = false
    /// Set when one event grew past ``maxEventBytes``: the stream is broken (an upstream sending
    /// data without ever ending a line or an event must not grow memory without bound); the parser
    /// then ignores further input, and its consumer reports the failure.
    public private(set) var overflowed = false
    /// Largest event kept (its unfinished line plus its data so far), like AWS's 16 MB message cap.
    public static let maxEventBytes = 16 * 1024 * 1024

    public init() {}

    /// Events completed by `chunk`.
    public mutating func feed(_ chunk: ByteBuffer) -> [SSEEvent] {
        guard !overflowed else { return [] }
        defer {
            // Checked once per chunk (not per byte): the overshoot is at most one chunk.
            if line.count + data.count > Self.maxEventBytes {
                overflowed = true
                line = []
                data = []
            }
        }
        var events: [SSEEvent] = []
        chunk.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                if lastWasCR {
                    lastWasCR = false
                    if byte == 10 { continue }  // the LF of a CRLF
                }
                if byte == 10 || byte == 13 {
                    lastWasCR = byte == 13
                    if let event = endLine() { events.append(event) }
                } else {
                    line.append(byte)
                }
            }
        }
        return events
    }

    /// Whether bytes of an unfinished event are pending (the stream was cut mid-event).
    public var hasPartialEvent: Bool { !line.isEmpty || hasData || name != nil }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                name = nil
                data.removeAll(keepingCapacity: true)
                hasData = false
            }
            guard hasData || name != nil else { return nil }
            return SSEEvent(name: name, data: data)
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = line[..<colon]
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(10) }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            name = String(decoding: value, as: UTF8.self)
        }
        return nil
    }
}
