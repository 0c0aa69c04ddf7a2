-- Google Gemini API (https://ai.google.dev/api/generate-content): chat completions translated by
-- lib/chat_to_gemini.lua, embeddings by lib/embeddings_to_gemini.lua, Anthropic's
-- /v1/messages/count_tokens by lib/gemini_count_tokens.lua (:countTokens). Auth: x-goog-api-key.
-- The base URL includes the API version.
local compat = require("openai_compatible")
local chat_to_gemini = require("chat_to_gemini")
local embeddings_to_gemini = require("embeddings_to_gemini")
local count_tokens = require("gemini_count_tokens")
local validate = require("validate")
local upstream_errors = require("upstream_errors")

local NAME = "Google Gemini"
local spec = { name = NAME, base_url = "https://generativelanguage.googleapis.com/v1beta" }

local provider = {
  name = NAME,
  semconv_name = "gcp.gemini",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  base_url = spec.base_url,
  endpoints = { ["chat/completions"] = "translate", embeddings = "translate",
                ["messages/count_tokens"] = "translate" },  -- Anthropic's count_tokens -> :countTokens
  decode_body = true,
  docs = "https://ai.google.dev/api/generate-content",
  auth_scheme = "x-goog-api-key: <key> (sent as Authorization: Bearer <key> by the client)",
  notes = "chat, embeddings and count_tokens translated to the Gemini API (v1beta)",
  stream = chat_to_gemini.stream,
}

function provider.response(ctx, res)
  if ctx.endpoint == "embeddings" then return embeddings_to_gemini.response(ctx, res) end
  if ctx.count_tokens then return count_tokens.response(ctx, res) end
  return chat_to_gemini.response(ctx, res)
end

function provider.prepare(ctx)
  if ctx.api_key == nil or ctx.api_key == "" then
    error(compat.unauthorized(NAME .. " needs an API key: send it as 'Authorization: Bearer <key>'"))
  end
  if ctx.endpoint == "embeddings" then
    local body, model = embeddings_to_gemini.request(ctx)
    return {
      url = compat.join_url(compat.base_url(spec, ctx), "/models/" .. model .. ":batchEmbedContents", ""),
      method = "POST", headers = { ["x-goog-api-key"] = ctx.api_key }, body = body,
    }
  end
  if ctx.endpoint == "messages/count_tokens" then
    local body, model, fetch = count_tokens.request(ctx, false)
    if fetch then return { fetch = fetch } end
    return {
      url = compat.join_url(compat.base_url(spec, ctx), "/models/" .. model .. ":countTokens", ""),
      method = "POST", headers = { ["x-goog-api-key"] = ctx.api_key }, body = validate.encode(body, ctx.body),
    }
  end
  local body, model, fetch = chat_to_gemini.request(ctx)
  if fetch then return { fetch = fetch } end
  local action = ctx.streaming and ":streamGenerateContent" or ":generateContent"
  return {
    url = compat.join_url(compat.base_url(spec, ctx), "/models/" .. model .. action, ctx.streaming and "alt=sse" or ""),
    method = "POST",
    headers = { ["x-goog-api-key"] = ctx.api_key },
    body = validate.encode(body, ctx.body),
  }
end

-- RESOURCE_EXHAUSTED and UNAVAILABLE are worth another try.
function provider.error(ctx, res) return upstream_errors.google(res) end

return provider
