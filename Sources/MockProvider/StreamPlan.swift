import NIOCore

/// A streaming answer before it is framed for the wire.
///
/// Why: `malformed` and `reset: mid` act on individual events, the same way for every
/// dialect, so endpoints hand back structured events and the router applies faults before
/// `framed(allocator:)` turns them into the chunks the handler writes.
struct StreamPlan: Sendable {
    enum Framing: Sendable {
        /// `event: NAME\ndata: JSON\n\n` (the name line only when an event has a name).
        case serverSentEvents
        /// One JSON array delivered piece by piece (Gemini's stream without `alt=sse`).
        case jsonArray
    }

    struct Event: Sendable {
        var name: String?
        var data: ByteBuffer
    }

    var events: [Event] = []
    var framing: Framing = .serverSentEvents
    /// Index of the first event carrying reply text: the one `malformed` breaks, and the
    /// last one sent before a `reset: mid`.
    var firstContentIndex = 0

    mutating func append(_ data: ByteBuffer, name: String? = nil) {
        events.append(Event(name: name, data: data))
    }

    /// Replaces one content event with a truncated, unparsable copy of itself.
    mutating func breakFirstContentEvent() {
        guard !events.isEmpty else { return }
        let index = min(firstContentIndex, events.count - 1)
        var data = events[index].data
        data.moveWriterIndex(to: data.readerIndex + data.readableBytes / 2)
        data.writeStaticString("\u{22}")  // a stray quote keeps it invalid even if the cut lands on a boundary
        events[index].data = data
    }

    /// How many chunks to send before dropping the connection on `reset: mid`:
    /// everything up to the first content event, always short of the end.
    var midStreamCut: Int {
        max(0, min(firstContentIndex + 1, events.count - 1))
    }

    /// Turns the events into wire chunks, one per event.
    func framed(allocator: ByteBufferAllocator) -> [ByteBuffer] {
        var chunks: [ByteBuffer] = []
        chunks.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            var chunk = allocator.buffer(capacity: event.data.readableBytes + 32)
            switch framing {
            case .serverSentEvents:
                if let name = event.name {
                    chunk.writeStaticString("event: ")
                    chunk.writeString(name)
                    chunk.writeStaticString("\n")
                }
                chunk.writeStaticString("data: ")
                chunk.writeImmutableBuffer(event.data)
                chunk.writeStaticString("\n\n")
            case .jsonArray:
                chunk.writeStaticString(index == 0 ? "[" : ",\r\n")
                chunk.writeImmutableBuffer(event.data)
                if index == events.count - 1 { chunk.writeStaticString("]") }
            }
            chunks.append(chunk)
        }
        return chunks
    }
}
