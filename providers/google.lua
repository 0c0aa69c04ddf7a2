-- Google Gemini API (https://ai.google.dev/api/generate-content), translated from and to OpenAI's
-- chat completions by lib/gemini.lua. Auth: x-goog-api-key. The base URL includes the API version.
local compat = require("openai_compatible")
local gemini = require("gemini")

local NAME = "Google Gemini"
local spec = { name = NAME, base_url = "https://generativelanguage.googleapis.com/v1beta" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { "chat/completions" },
  decode_body = true,
  response = gemini.response,
  stream = gemini.stream,
}

function provider.prepare(ctx)
  if ctx.api_key == nil or ctx.api_key == "" then
    error(compat.unauthorized(NAME .. " needs an API key: send it as 'Authorization: Bearer <key>'"))
  end
  local body, model = gemini.translate_request(ctx)
  local action = ctx.streaming and ":streamGenerateContent" or ":generateContent"
  return {
    url = compat.join_url(compat.base_url(spec, ctx), "/models/" .. model .. action, ctx.streaming and "alt=sse" or ""),
    method = "POST",
    headers = { ["x-goog-api-key"] = ctx.api_key },
    body = body,
  }
end

return provider
