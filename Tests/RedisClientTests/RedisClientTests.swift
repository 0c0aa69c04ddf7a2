import NIOCore
import NIOPosix
import RedisClient
import Testing

/// The client against a real redis-server on loopback (one per test, on a free port).
@Suite(.serialized, .enabled(if: RedisServer.executable != nil, "\(RedisServer.missing)"), .timeLimit(.minutes(1)))
struct RedisClientTests {
    let group = MultiThreadedEventLoopGroup.singleton

    func client(_ url: String, _ configure: (inout RedisClient.Configuration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = RedisClient.Configuration(url: try RedisURL(url))
        configure(&configuration)
        return try RedisClient(configuration: configuration, eventLoopGroup: group)
    }

    @Test func setGetIncrExpire() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try client(server.url)
        try await redis.waitUntilConnected()
        #expect(try await redis.send(["SET", "greeting", "hello"]) == .simpleString("OK"))
        #expect(try await redis.send(["GET", "greeting"]).string == "hello")
        #expect(try await redis.send(["GET", "missing"]) == .null)
        for expected in 1...3 {
            #expect(try await redis.send(["INCR", "counter"]) == .integer(expected))
        }
        #expect(try await redis.send(["GET", "counter"]).int == 3)
        #expect(try await redis.send(["EXPIRE", "greeting", 100]) == .integer(1))
        let ttl = try await redis.send(["TTL", "greeting"]).int ?? -1
        #expect((1...100).contains(ttl))
        #expect(try await redis.send(["EXPIRE", "missing", 100]) == .integer(0))
        // Binary values travel unchanged.
        let bytes = ByteBuffer(bytes: [0, 13, 10, 255, 36, 42])
        _ = try await redis.send(["SET", "binary", .bytes(bytes)])
        #expect(try await redis.send(["GET", "binary"]) == .bulkString(bytes))
        // An error reply fails the command with Redis's message.
        await #expect(throws: RedisClientError.self) { try await redis.send(["INCR", "greeting"]) }
        do {
            _ = try await redis.send(["INCR", "greeting"])
        } catch let error as RedisClientError {
            #expect(error.serverCode == "ERR")
        }
        #expect(try await redis.send(["MGET", "counter", "missing"]) == .array([.bulkString(ByteBuffer(string: "3")), .null]))
        try await redis.shutdown()
    }

    @Test func selectsTheURLsDatabase() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let db0 = try client(server.url)
        let db5 = try client(server.url + "/5")
        try await db0.waitUntilConnected()
        try await db5.waitUntilConnected()
        _ = try await db5.send(["SET", "where", "five"])
        #expect(try await db5.send(["GET", "where"]).string == "five")
        #expect(try await db0.send(["GET", "where"]) == .null)
        #expect(try await db0.send(["SELECT", 5]) == .simpleString("OK"))  // on one of db0's connections
        try await db0.shutdown()
        try await db5.shutdown()
    }

    /// Several tasks, each with 1,000 INCRs in flight at once: every answer reaches its own command
    /// (each value 1…8000 is returned exactly once) and the total is exact.
    @Test func pipelinedIncrementsFromSeveralTasks() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try client(server.url) { $0.connectionsPerLoop = 2; $0.commandTimeout = .seconds(10) }
        try await redis.waitUntilConnected()
        let tasks = 8
        let perTask = 1000
        let answers = try await withThrowingTaskGroup(of: [Int].self) { taskGroup in
            for index in 0..<tasks {
                taskGroup.addTask {
                    // Half the tasks send from one event loop (one connection pair, deep pipelines),
                    // the others from outside any loop.
                    let futures: [EventLoopFuture<RESPValue>]
                    if index % 2 == 0 {
                        let loop = group.any()
                        futures = try await loop.submit { (0..<perTask).map { _ in redis.send(["INCR", "total"], on: loop) } }.get()
                    } else {
                        futures = (0..<perTask).map { _ in redis.send(["INCR", "total"]) }
                    }
                    var values: [Int] = []
                    for future in futures { values.append(try await future.get().int ?? -1) }
                    return values
                }
            }
            var all: [Int] = []
            for try await values in taskGroup {
                all += values
            }
            return all
        }
        #expect(answers.count == tasks * perTask)
        #expect(Set(answers) == Set(1...(tasks * perTask)))
        #expect(try await redis.send(["GET", "total"]).int == tasks * perTask)
        try await redis.shutdown()
    }

    /// Commands beyond the in-flight limit of a connection are refused, not buffered.
    @Test func inFlightLimitRefusesTheExcess() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try client(server.url) { $0.maxInFlightPerConnection = 10; $0.commandTimeout = .seconds(10) }
        try await redis.waitUntilConnected()
        let loop = group.any()
        // All 100 are sent in one turn of the loop, before any answer can be read.
        let futures = try await loop.submit { (0..<100).map { _ in redis.send(["INCR", "limited"], on: loop) } }.get()
        var answered = 0
        var refused = 0
        for future in futures {
            do {
                _ = try await future.get()
                answered += 1
            } catch let error as RedisClientError {
                #expect(error == .unavailable)
                refused += 1
            }
        }
        #expect(answered == 10)
        #expect(refused == 90)
        #expect(try await redis.send(["GET", "limited"]).int == 10)
        try await redis.shutdown()
    }

    @Test func evalshaRecoversFromNoscript() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try client(server.url)
        try await redis.waitUntilConnected()
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(script.sha1 == nil)
        #expect(try await redis.evalsha(script, keys: ["bucket"], args: [5]) == .integer(5))
        let sha = try #require(script.sha1)
        #expect(sha.count == 40)
        #expect(try await redis.send(["SCRIPT", "EXISTS", .string(sha)]) == .array([.integer(1)]))
        #expect(try await redis.send(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
        #expect(try await redis.send(["SCRIPT", "EXISTS", .string(sha)]) == .array([.integer(0)]))
        // EVALSHA now meets NOSCRIPT; the client loads the script and retries once.
        #expect(try await redis.evalsha(script, keys: ["bucket"], args: [5]) == .integer(10))
        #expect(script.sha1 == sha)
        #expect(try await redis.send(["SCRIPT", "EXISTS", .string(sha)]) == .array([.integer(1)]))
        // A script's own error is the script's error, not retried into something else.
        let failing = RedisScript("return redis.call('INCR', KEYS[1])")
        _ = try await redis.send(["SET", "text", "abc"])
        await #expect(throws: RedisClientError.self) { try await redis.evalsha(failing, keys: ["text"]) }
        try await redis.shutdown()
    }

    @Test func authenticatesAndRefusesAWrongPassword() async throws {
        let server = try await RedisServer(extraArguments: ["--requirepass", "correct-horse"])
        defer { server.stop() }
        let good = try client("redis://:correct-horse@127.0.0.1:\(server.port)/1")
        try await good.waitUntilConnected()
        #expect(try await good.send(["PING"]) == .simpleString("PONG"))
        let named = try client("redis://default:correct-horse@127.0.0.1:\(server.port)")
        try await named.waitUntilConnected()
        #expect(try await named.send(["PING"]) == .simpleString("PONG"))

        let wrong = try client("redis://:battery-staple@127.0.0.1:\(server.port)")
        do {
            try await wrong.waitUntilConnected()
            Issue.record("a wrong password connected")
        } catch let error as RedisClientError {
            #expect(error.serverCode == "WRONGPASS", "\(error)")
            #expect(!error.description.contains("battery-staple"))
        }
        await #expect(throws: RedisClientError.unavailable) { try await wrong.send(["PING"]) }

        let none = try client(server.url)
        try await none.waitUntilConnected()
        do {
            _ = try await none.send(["GET", "x"])
            Issue.record("a command ran without AUTH")
        } catch let error as RedisClientError {
            #expect(error.serverCode == "NOAUTH", "\(error)")
        }
        for redis in [good, named, wrong, none] { try await redis.shutdown() }
    }

    /// Redis stops: commands fail fast (`.unavailable` once the loss is seen), nothing hangs. Redis
    /// starts again on the same port: the same client recovers by itself.
    @Test func survivesARedisRestart() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try client(server.url) { $0.backoffCap = .milliseconds(200); $0.connectionsPerLoop = 2 }
        try await redis.waitUntilConnected()
        #expect(try await redis.send(["INCR", "n"]) == .integer(1))

        server.stop()
        var sawUnavailable = 0
        for _ in 0..<200 {
            do {
                _ = try await redis.send(["PING"])
                Issue.record("a command succeeded with Redis stopped")
            } catch let error as RedisClientError {
                #expect(error == .unavailable || error == .closed, "\(error)")
                if error == .unavailable { sawUnavailable += 1 }
            }
            if sawUnavailable >= 20 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(sawUnavailable >= 20)

        try await server.start()
        var recovered = false
        for _ in 0..<500 {
            if (try? await redis.send(["PING"])) == .simpleString("PONG") {
                recovered = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(recovered)
        try await redis.waitUntilConnected()
        // Redis kept nothing (no persistence): the counter starts again.
        #expect(try await redis.send(["INCR", "n"]) == .integer(1))
        try await redis.shutdown()
    }

    /// A command slower than the timeout fails with `.timeout`, so does the one pipelined behind it,
    /// and the connection is replaced by a new one (a new CLIENT ID) that works.
    @Test func slowCommandTimesOutAndTheConnectionIsReplaced() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try client(server.url) { $0.commandTimeout = .milliseconds(100) }
        try await redis.waitUntilConnected()
        let loop = group.any()
        let before = try await redis.send(["CLIENT", "ID"], on: loop).get().int
        let sleeping = redis.send(["DEBUG", "SLEEP", "0.5"], on: loop)
        let behind = redis.send(["PING"], on: loop)
        await #expect(throws: RedisClientError.timeout) { try await sleeping.get() }
        await #expect(throws: RedisClientError.timeout) { try await behind.get() }

        var after: Int?
        for _ in 0..<200 {
            if let id = try? await redis.send(["CLIENT", "ID"], on: loop).get().int {
                after = id
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(after != nil)
        #expect(after != before)
        // A longer timeout for one command lets it finish.
        #expect(try await redis.send(["DEBUG", "SLEEP", "0.2"], on: loop, timeout: .seconds(5)).get() == .simpleString("OK"))
        try await redis.shutdown()
    }
}
