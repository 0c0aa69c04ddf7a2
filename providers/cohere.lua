-- Cohere v2 (https://docs.cohere.com/reference/chat, /reference/embed): chat translated by
-- lib/chat_to_cohere.lua, embeddings by lib/embeddings_to_cohere.lua. Auth: Authorization: Bearer <key>.
-- Every other /v1 path passes through to the v2 API untouched (POST /v1/rerank → https://api.cohere.com/v2/rerank).
local compat = require("openai_compatible")
local chat = require("openai_chat")
local chat_to_cohere = require("chat_to_cohere")
local embeddings_to_cohere = require("embeddings_to_cohere")
local validate = require("validate")

local NAME = "Cohere"
local spec = { name = NAME, base_url = "https://api.cohere.com/v2" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { ["chat/completions"] = "translate", embeddings = "translate", rerank = "passthrough", ["*"] = "passthrough" },
  decode_body = true,
  stream = chat_to_cohere.stream,
}

function provider.auth(ctx)
  compat.require_key({ name = NAME }, ctx)
  return compat.base_url(spec, ctx), compat.auth_headers(spec, ctx.api_key)
end

function provider.prepare(ctx)
  compat.require_key({ name = NAME }, ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  local base = compat.base_url(spec, ctx)
  local headers = compat.auth_headers(spec, ctx.api_key)
  if ctx.endpoint == "embeddings" then
    return { url = compat.join_url(base, "/embed", ""), method = "POST", headers = headers,
             body = embeddings_to_cohere.request(ctx, body) }
  end
  return { url = compat.join_url(base, "/chat", ""), method = "POST", headers = headers,
           body = validate.encode(chat_to_cohere.request(ctx, body), body) }
end

function provider.response(ctx, res)
  if ctx.endpoint == "embeddings" then return embeddings_to_cohere.response(ctx, res) end
  return chat_to_cohere.response(ctx, res)
end

return provider
