public import NIOCore
import NIOConcurrencyHelpers

/// A Lua script run with EVALSHA.
///
/// The script's SHA-1 is the one `SCRIPT LOAD` returns, kept after the first load: nothing in this
/// package computes SHA-1 (the repository has SHA-256 only, and swift-crypto would be a new
/// dependency for one hash), and loading costs one extra round trip once per script per process,
/// or after Redis lost its script cache (restart, `SCRIPT FLUSH`), which EVALSHA reports as NOSCRIPT.
public final class RedisScript: Sendable {
    public let source: String
    private let loadedSHA = NIOLockedValueBox<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    /// The SHA-1 Redis gave for the script, once it has been loaded.
    public var sha1: String? { loadedSHA.withLockedValue { $0 } }

    func remember(_ sha: String) { loadedSHA.withLockedValue { $0 = sha } }
}

extension RedisClient {
    /// Runs `script` with EVALSHA: one round trip once the script is known. When the SHA is not
    /// known yet, SCRIPT LOAD first; when Redis answers NOSCRIPT (its script cache was emptied),
    /// SCRIPT LOAD and EVALSHA once more.
    public func evalsha(_ script: RedisScript, keys: [RESPArgument] = [], args: [RESPArgument] = [],
                        on loop: (any EventLoop)? = nil, timeout: TimeAmount? = nil) -> EventLoopFuture<RESPValue> {
        guard let sha = script.sha1 else {
            return load(script, on: loop, timeout: timeout).flatMap { sha in
                self.send(Self.evalshaCommand(sha, keys: keys, args: args), on: loop, timeout: timeout)
            }
        }
        let first = send(Self.evalshaCommand(sha, keys: keys, args: args), on: loop, timeout: timeout)
        return first.flatMapError { error in
            guard (error as? RedisClientError)?.serverCode == "NOSCRIPT" else {
                return first.eventLoop.makeFailedFuture(error)
            }
            return self.load(script, on: loop, timeout: timeout).flatMap { sha in
                self.send(Self.evalshaCommand(sha, keys: keys, args: args), on: loop, timeout: timeout)
            }
        }
    }

    public func evalsha(_ script: RedisScript, keys: [RESPArgument] = [], args: [RESPArgument] = [],
                        timeout: TimeAmount? = nil) async throws -> RESPValue {
        try await evalsha(script, keys: keys, args: args, on: nil, timeout: timeout).get()
    }

    /// SCRIPT LOAD: sends the script and keeps the SHA-1 Redis returns.
    public func load(_ script: RedisScript, on loop: (any EventLoop)? = nil, timeout: TimeAmount? = nil) -> EventLoopFuture<String> {
        send(["SCRIPT", "LOAD", .string(script.source)], on: loop, timeout: timeout).flatMapThrowing { reply in
            guard let sha = reply.string, sha.utf8.count == 40 else {
                throw RedisClientError.protocolError("SCRIPT LOAD answered \(reply), not a SHA-1")
            }
            script.remember(sha)
            return sha
        }
    }

    static func evalshaCommand(_ sha: String, keys: [RESPArgument], args: [RESPArgument]) -> [RESPArgument] {
        var command: [RESPArgument] = ["EVALSHA", .string(sha), .integer(keys.count)]
        command.reserveCapacity(3 + keys.count + args.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: args)
        return command
    }
}
