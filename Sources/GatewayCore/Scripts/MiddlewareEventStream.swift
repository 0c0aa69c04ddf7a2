import LuaRuntime
import NIOCore

/// A response stream passed through the middleware's `on_chunk` hooks event by event (when any
/// middleware has one), with `on_log` called when it ends.
struct MiddlewareEventStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let upstream: any AsyncSequence<ByteBuffer, any Error> & Sendable
    let session: MiddlewareSession
    let finish: @Sendable (_ failed: Bool) -> Void

    func makeAsyncIterator() -> Iterator {
        Iterator(base: UncheckedIterator(upstream.makeAsyncIterator()), session: session, finish: finish)
    }

    struct Iterator: AsyncIteratorProtocol {
        let base: UncheckedIterator
        let session: MiddlewareSession
        let finish: @Sendable (Bool) -> Void
        var parser = SSEParser()
        var done = false

        mutating func next() async throws -> ByteBuffer? {
            while !done {
                let chunk: ByteBuffer?
                do {
                    chunk = try await base.next()
                } catch {
                    done = true
                    finish(true)
                    throw error
                }
                guard let chunk else {
                    done = true
                    finish(false)
                    return nil
                }
                guard session.hasOnChunk else { return chunk }
                var out: [UInt8] = []
                let events = parser.feed(chunk)
                if parser.overflowed {
                    done = true
                    finish(true)
                    throw GatewayError.upstreamBroken(provider: "upstream", reason: "an event larger than \(SSEParser.maxEventBytes) bytes")
                }
                for event in events {
                    do throws(LuaError) {
                        out += try session.onChunk(name: event.name, data: event.data)
                    } catch {
                        done = true
                        finish(true)
                        throw GatewayError.script(error)
                    }
                }
                if !out.isEmpty { return ByteBuffer(bytes: out) }
            }
            return nil
        }
    }
}
