-- Nomic Atlas (https://docs.nomic.ai/reference/api/embed-text-v-1-embedding-text-post): text
-- embeddings at POST https://api-atlas.nomic.ai/v1/embedding/text, translated from and to OpenAI's
-- /v1/embeddings by lib/embeddings_to_nomic.lua (input -> texts, dimensions -> dimensionality,
-- Nomic's task_type accepted, {embeddings: [[…]]} -> data[].embedding, base64 made by the gateway).
-- Auth: Authorization: Bearer <key> (nk-… keys). Verified with `search`: Nomic's reference page for
-- the request fields and the answer schema ({embeddings, usage: {prompt_tokens, total_tokens},
-- model}). Image embeddings (/v1/embedding/image) are not served.
local compat = require("openai_compatible")
local chat = require("openai_chat")
local validate = require("validate")
local embeddings = require("embeddings_to_nomic")

local NAME = "Nomic"
local spec = { name = NAME, base_url = "https://api-atlas.nomic.ai/v1" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { embeddings = "translate" },
  decode_body = true,
  docs = "https://docs.nomic.ai/reference/api/embed-text-v-1-embedding-text-post",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "embeddings translated to /v1/embedding/text (dimensions -> dimensionality; task_type accepted); text only",
}

function provider.prepare(ctx)
  compat.require_key(spec, ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  return { url = compat.join_url(compat.base_url(spec, ctx), "/embedding/text", ""), method = "POST",
           headers = compat.auth_headers(spec, ctx.api_key),
           body = validate.encode(embeddings.request(ctx, body), body) }
end

function provider.response(ctx, res) return embeddings.response(ctx, res) end

return provider
