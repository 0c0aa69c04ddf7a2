extension GatewayError {
    /// The error as the Responses dialect's `error` stream event, for a stream the gateway must end
    /// after bytes reached the client: `{"type":"error","code","message","param","error":{…}}`.
    ///
    /// The flat fields are the event's reference shape (`ResponseErrorEvent`); the nested `error`
    /// object is what the openai SDKs look for in a stream's data to raise an `APIError`, so a
    /// client iterating the stream gets an exception instead of a quiet end. The gateway does not
    /// know the upstream's `sequence_number` at this point, so the event carries none.
    public var responsesErrorEvent: [UInt8] {
        var out = #"{"type":"error","code":"# + JSONText.quote(code?.rawValue ?? type.rawValue)
        out += #","message":"# + JSONText.quote(message)
        out += #","param":"# + (param.map(JSONText.quote) ?? "null")
        out += #","error":"#
        var bytes = Array(out.utf8)
        // `body` is {"error":{…}}: its inner object.
        let inner = body.dropFirst(9).dropLast()
        bytes += inner
        bytes += Array("}".utf8)
        return bytes
    }
}
