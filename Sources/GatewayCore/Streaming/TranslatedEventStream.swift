public import LuaRuntime
public import NIOCore

/// An upstream event stream passed through a provider script's `stream(ctx, event)`: each upstream
/// chunk is split into events, each event translated, and what the script returns for the chunk
/// is handed on at once (one write and flush per upstream chunk, never buffered further).
///
/// Ending the iteration early (the client left) ends the upstream stream, which closes the
/// upstream connection. A script failure ends the stream with a ``GatewayError``.
public struct TranslatedEventStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    /// How the upstream frames its events.
    public enum Framing: Sendable {
        case serverSentEvents
        /// `application/vnd.amazon.eventstream`
        case awsEventStream
    }

    let upstream: UpstreamStream
    let session: ProviderSession
    let framing: Framing

    public init(upstream: UpstreamStream, session: ProviderSession,
                framing: Framing = .serverSentEvents) {
        self.upstream = upstream
        self.session = session
        self.framing = framing
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: upstream.makeAsyncIterator(), session: session, framing: framing)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: UpstreamStream.AsyncIterator
        let session: ProviderSession
        let framing: Framing
        var parser = SSEParser()
        var awsDecoder = AWSEventStreamDecoder()
        var finished = false

        init(base: UpstreamStream.AsyncIterator, session: ProviderSession, framing: Framing) {
            self.base = base
            self.session = session
            self.framing = framing
        }

        private mutating func events(in chunk: ByteBuffer) throws(GatewayError) -> [SSEEvent] {
            switch framing {
            case .serverSentEvents:
                let events = parser.feed(chunk)
                if parser.overflowed {
                    throw GatewayError.upstreamBroken(
                        provider: session.info.id, reason: "an event larger than \(SSEParser.maxEventBytes) bytes")
                }
                return events
            case .awsEventStream:
                do throws(AWSEventStreamDecoder.Failure) {
                    return try awsDecoder.feed(chunk)
                } catch {
                    throw GatewayError.upstreamBroken(provider: session.info.id, reason: error.description)
                }
            }
        }

        private var hasPartialEvent: Bool {
            framing == .serverSentEvents ? parser.hasPartialEvent : awsDecoder.hasPartialMessage
        }

        public mutating func next() async throws -> ByteBuffer? {
            while !finished {
                guard let chunk = try await base.next() else {
                    finished = true
                    let tail = try translate(nil, truncated: hasPartialEvent)
                    return tail.isEmpty ? nil : ByteBuffer(bytes: tail)
                }
                var out: [UInt8] = []
                for event in try events(in: chunk) {
                    out.append(contentsOf: try translate((event.name, event.data)))
                }
                if !out.isEmpty { return ByteBuffer(bytes: out) }
            }
            return nil
        }

        private func translate(_ event: (name: String?, data: [UInt8])?, truncated: Bool = false) throws(GatewayError) -> [UInt8] {
            do throws(LuaError) {
                return try session.stream(event: event, truncated: truncated)
            } catch {
                throw GatewayError.script(error)
            }
        }
    }
}
