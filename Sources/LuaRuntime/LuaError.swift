/// A failure inside a Lua script: syntax, runtime error, a sandbox limit, or a structured error
/// the script raised on purpose (`error({status = 400, message = "..."})`).
public struct LuaError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case syntax
        case runtime
        case memory
        case budget
        case invalidScript
        /// Raised by the script as a table; the gateway answers with this status and message.
        case raised(status: Int, type: String?, code: String?)
    }

    public var kind: Kind
    /// The script's path relative to its folder, e.g. `providers/groq.lua`.
    public var script: String?
    public var message: String
    /// For a raised error: the request parameter it is about (OpenAI's `error.param`).
    public var param: String?

    public init(kind: Kind, script: String? = nil, message: String, param: String? = nil) {
        self.kind = kind
        self.script = script
        self.message = message
        self.param = param
    }

    public var description: String { message }
}
