import RedisClient
import Testing

@Suite struct RedisURLTests {
    @Test func parsesEveryForm() throws {
        #expect(try RedisURL("redis://127.0.0.1:6380") == RedisURL(host: "127.0.0.1", port: 6380))
        #expect(try RedisURL("redis://cache.internal") == RedisURL(host: "cache.internal", port: 6379))
        #expect(try RedisURL("redis://:s3cret@h:1/2") == RedisURL(host: "h", port: 1, database: 2, password: "s3cret"))
        #expect(try RedisURL("rediss://app:p%40ss%2Fw@h:6380/0")
            == RedisURL(host: "h", port: 6380, user: "app", password: "p@ss/w", tls: true))
        #expect(try RedisURL("redis://[::1]:7000/3") == RedisURL(host: "::1", port: 7000, database: 3))
        #expect(try RedisURL("redis://u:pa/ss@h:1") == RedisURL(host: "h", port: 1, user: "u", password: "pa/ss"))
    }

    @Test(arguments: [
        ("http://h:1", "scheme"),
        ("redis://h:0", "port"),
        ("redis://h:70000", "port"),
        ("redis://h:abc", "port"),
        ("redis://h:1/x", "database"),
        ("redis://h:1/-1", "database"),
        ("redis://:1", "no host"),
        ("redis://h:1?timeout=3", "query"),
        ("redis://h:1#x", "fragment"),
        ("redis://hunter2@h:1", "user without a password"),
        ("redis://u:@h:1", "empty password"),
        ("redis://[::1:1", "IPv6"),
        ("redis://u:p%zzhunter2@h:1", "'%'"),
    ])
    func refusesWithAClearMessage(_ text: String, _ named: String) {
        do {
            _ = try RedisURL(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.message.contains(named), "\(error)")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test func descriptionHidesThePassword() throws {
        let url = try RedisURL("rediss://app:hunter2@h:6380/4")
        #expect(url.description == "rediss://app:***@h:6380/4")
        #expect(try RedisURL("redis://h").description == "redis://h:6379")
    }
}
