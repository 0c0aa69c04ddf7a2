-- Word-list guard: a prompt containing a blocked word is refused with Portkey's guardrail status
-- 446 and a message naming the word. Copy into scripts/ and edit BLOCKED.
local BLOCKED = { "confidential", "project-x" }

return {
  order = 20,
  routes = { "chat/completions", "completions", "messages" },
  on_request = function(ctx, req)
    local body = req.body
    if type(body) ~= "table" then return end
    local texts = {}
    for _, message in ipairs(type(body.messages) == "table" and body.messages or {}) do
      if type(message.content) == "string" then texts[#texts + 1] = message.content end
      for _, part in ipairs(type(message.content) == "table" and message.content or {}) do
        if type(part) == "table" and type(part.text) == "string" then texts[#texts + 1] = part.text end
      end
    end
    if type(body.prompt) == "string" then texts[#texts + 1] = body.prompt end
    local text = table.concat(texts, "\n"):lower()
    for _, word in ipairs(BLOCKED) do
      if text:find(word, 1, true) then
        return { status = 446, type = "guardrail_error", code = "blocked_word",
                 error = "the prompt contains the blocked word '" .. word .. "'" }
      end
    end
  end,
}
