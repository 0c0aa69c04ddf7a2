-- Scripted route POST /v1/compare: sends one chat request to two (or more) targets at once through
-- the gateway's own router (providers, configs, retries and fallbacks apply) and answers with
-- every answer and its latency. Copy into scripts/ to enable.
--
--   POST /v1/compare
--   {"request": {"model": "gpt-4o-mini", "messages": [...]},
--    "targets": [{"name": "openai", "headers": {"x-portkey-provider": "openai", "authorization": "Bearer sk-..."}},
--                {"name": "claude", "headers": {"x-portkey-provider": "anthropic", "authorization": "Bearer sk-ant-..."}}]}
local null = gw.json.null

local function bad(message)
  return { status = 400, body = { error = { message = message, type = "invalid_request_error", code = "invalid_compare" } } }
end

return {
  handlers = {
    ["POST /v1/compare"] = function(req)
      local body = req.body
      if type(body) ~= "table" or type(body.request) ~= "table" then
        return bad("send {\"request\": <a chat completion request>, \"targets\": [{\"name\", \"headers\"}, ...]}")
      end
      if type(body.targets) ~= "table" or #body.targets < 2 or #body.targets > 4 then
        return bad("targets must list 2 to 4 targets")
      end
      local calls = {}
      for i, target in ipairs(body.targets) do
        local headers = {}
        for name, value in pairs(type(target.headers) == "table" and target.headers or {}) do headers[name] = value end
        calls[i] = { path = "/chat/completions", headers = headers, body = body.request }
      end
      local results = gw.route(calls)  -- every call at once; the handler resumes when all answered
      local answers = gw.json.array()
      for i, result in ipairs(results) do
        local choice = type(result.body) == "table" and type(result.body.choices) == "table" and result.body.choices[1]
        local failure = result.error or (type(result.body) == "table" and result.body.error) or null
        answers[i] = {
          target = body.targets[i].name or tostring(i),
          status = result.status,
          latency_ms = math.floor(result.latency_ms * 10 + 0.5) / 10,
          content = choice and choice.message and choice.message.content or null,
          usage = type(result.body) == "table" and result.body.usage or null,
          error = failure,
        }
      end
      return { status = 200, body = { object = "comparison", answers = answers } }
    end,
  },
}
