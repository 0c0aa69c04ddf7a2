-- Cohere v2 (https://docs.cohere.com/reference/chat, /reference/embed): chat translated by
-- lib/chat_to_cohere.lua, embeddings by lib/embeddings_to_cohere.lua. Auth: Authorization: Bearer <key>.
-- Rerank (https://docs.cohere.com/reference/rerank, read: POST https://api.cohere.com/v2/rerank
-- {model, query, documents: [string], top_n, max_tokens_per_doc} -> {id, results: [{index,
-- relevance_score}], meta: {api_version, billed_units: {search_units}}}, the reference's example):
-- Cohere's shape is the gateway's rerank contract, so only what v2 lacks is mapped
-- (lib/rerank.lua): {text} documents become strings, return_documents is filled in from the
-- request. Cohere's own id and meta are relayed. Every other /v1 path passes through to the v2 API
-- untouched.
local compat = require("openai_compatible")
local chat = require("openai_chat")
local chat_to_cohere = require("chat_to_cohere")
local embeddings_to_cohere = require("embeddings_to_cohere")
local validate = require("validate")
local rerank = require("rerank")

local NAME = "Cohere"
local spec = { name = NAME, base_url = "https://api.cohere.com/v2" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { ["chat/completions"] = "translate", embeddings = "translate", rerank = "translate", ["*"] = "passthrough" },
  docs = "https://docs.cohere.com/reference/chat",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "chat, embeddings (embed) and rerank (v2) translated; other /v1 paths pass through to /v2",
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
  if ctx.endpoint == "rerank" then
    local req = rerank.read(body, NAME)
    ctx.rerank = req
    return { url = compat.join_url(base, "/rerank", ""), method = "POST", headers = headers,
             body = validate.encode({ model = req.model, query = req.query, documents = gw.json.array(req.texts),
                                      top_n = req.top_n, max_tokens_per_doc = req.max_tokens_per_doc }, body) }
  end
  return { url = compat.join_url(base, "/chat", ""), method = "POST", headers = headers,
           body = validate.encode(chat_to_cohere.request(ctx, body), body) }
end

function provider.response(ctx, res)
  if ctx.endpoint == "embeddings" then return embeddings_to_cohere.response(ctx, res) end
  if ctx.endpoint == "rerank" then
    -- Cohere's answer is the contract already: its id and meta are kept, documents filled in.
    local list, r = rerank.list(res, "results", NAME)
    local results = {}
    for i, item in ipairs(list) do
      results[i] = { index = type(item) == "table" and item.index, score = type(item) == "table" and item.relevance_score }
    end
    local out = rerank.answer(ctx.rerank, results, { id = r.id }, NAME)
    if type(r.meta) == "table" then out.body.meta = r.meta end
    return out
  end
  return chat_to_cohere.response(ctx, res)
end

return provider
