-- Jina AI (https://api.jina.ai/openapi.json; https://jina.ai/embeddings, https://jina.ai/reranker):
-- embeddings and rerank at https://api.jina.ai/v1. Auth: Authorization: Bearer <key>.
--
-- Embeddings: near OpenAI's; translated by lib/embeddings_to_jina.lua (base64 made by the gateway,
-- Jina's `task` accepted). Rerank: POST /v1/rerank {model, query, documents, top_n,
-- return_documents} -> {model, usage: {total_tokens}, results: [{index, relevance_score,
-- document?}]}, close to the gateway's contract (Cohere's shape, lib/rerank.lua): top_n is sent as
-- is, documents as strings, return_documents false (documents are filled in from the request),
-- usage.total_tokens -> meta.tokens.input_tokens; max_tokens_per_doc is refused (Jina has no
-- per-document token limit). Verified with `search`: Jina's OpenAPI header (auth, base URL), the
-- reranker request/answer fields from copies of Jina's rerank schema (api-evangelist's Jina
-- OpenAPI, new-api's Jina format page) — Jina's own reranker page was not read in full.
local compat = require("openai_compatible")
local chat = require("openai_chat")
local validate = require("validate")
local rerank = require("rerank")
local embeddings = require("embeddings_to_jina")

local array = gw.json.array

local NAME = "Jina AI"
local spec = { name = NAME, base_url = "https://api.jina.ai/v1" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { embeddings = "translate", rerank = "translate" },
  decode_body = true,
  docs = "https://api.jina.ai/openapi.json",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "embeddings (base64 made by the gateway; `task` accepted) and rerank (Cohere shape; max_tokens_per_doc refused)",
}

local REFUSED = {
  max_tokens_per_doc = "Jina's rerank has no per-document token limit (it truncates to the model's context)",
}

function provider.prepare(ctx)
  compat.require_key(spec, ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  local base = compat.base_url(spec, ctx)
  local headers = compat.auth_headers(spec, ctx.api_key)
  if ctx.endpoint == "rerank" then
    local req = rerank.read(body, NAME, REFUSED)
    ctx.rerank = req
    return { url = compat.join_url(base, "/rerank", ""), method = "POST", headers = headers,
             body = validate.encode({ model = req.model, query = req.query, documents = array(req.texts),
                                      top_n = req.top_n, return_documents = false }, body) }
  end
  return { url = compat.join_url(base, "/embeddings", ""), method = "POST", headers = headers,
           body = validate.encode(embeddings.request(ctx, body), body) }
end

function provider.response(ctx, res)
  if ctx.endpoint == "rerank" then
    local list, r = rerank.list(res, "results", NAME)
    local results = {}
    for i, item in ipairs(list) do
      results[i] = { index = type(item) == "table" and item.index, score = type(item) == "table" and item.relevance_score }
    end
    local usage = type(r.usage) == "table" and r.usage or {}
    return rerank.answer(ctx.rerank, results, { input_tokens = usage.total_tokens }, NAME)
  end
  return embeddings.response(ctx, res)
end

return provider
