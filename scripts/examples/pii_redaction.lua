-- PII redaction: e-mail addresses and phone numbers in chat prompts are replaced before the
-- request leaves the gateway. Copy into scripts/ to enable.
local function redact(text)
  text = text:gsub("[%w%._%%%+%-]+@[%w%.%-]+%.%a%a+", "[EMAIL]")
  -- +country code and/or groups of digits separated by spaces, dots or dashes: 7 digits or more.
  text = text:gsub("%+?%d[%d%s%.%-%(%)]+%d", function(candidate)
    local digits = candidate:gsub("%D", "")
    if #digits >= 7 then return "[PHONE]" end
    return candidate
  end)
  return text
end

return {
  order = 10,
  routes = { "chat/completions", "messages" },
  on_request = function(ctx, req)
    local body = req.body
    if type(body) ~= "table" or type(body.messages) ~= "table" then return end
    local count = 0
    for _, message in ipairs(body.messages) do
      if type(message.content) == "string" then
        local redacted = redact(message.content)
        if redacted ~= message.content then count = count + 1 end
        message.content = redacted
      elseif type(message.content) == "table" then
        for _, part in ipairs(message.content) do
          if type(part) == "table" and type(part.text) == "string" then part.text = redact(part.text) end
        end
      end
    end
    ctx.redacted_messages = count
  end,
}
