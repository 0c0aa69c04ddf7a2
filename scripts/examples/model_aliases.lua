-- Model aliases: clients ask for "fast" or "smart"; the gateway picks provider and model.
-- Copy into scripts/ and edit ALIASES. Requests for other models pass unchanged.
local ALIASES = {
  fast = { provider = "groq", model = "llama-3.1-8b-instant" },
  smart = { provider = "openai", model = "gpt-4o" },
}

return {
  order = 30,
  routes = { "chat/completions", "completions" },
  on_request = function(ctx, req)
    local body = req.body
    local alias = type(body) == "table" and ALIASES[body.model]
    if not alias then return end
    ctx.alias = body.model
    body.model = alias.model
    req.headers["x-portkey-provider"] = alias.provider
  end,
  on_response = function(ctx, res)
    -- Answer with the alias the client asked for, so its bookkeeping keeps working.
    if ctx.alias and type(res.body) == "table" and res.body.model then res.body.model = ctx.alias end
  end,
}
