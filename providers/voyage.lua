-- Voyage AI (https://docs.voyageai.com/reference/embeddings-api,
-- https://docs.voyageai.com/reference/reranker-api): embeddings and rerank at
-- https://api.voyageai.com/v1. Auth: Authorization: Bearer <key>.
--
-- Embeddings: translated by lib/embeddings_to_voyage.lua (dimensions -> output_dimension, base64
-- made by the gateway, Voyage's input_type accepted, usage.total_tokens -> prompt_tokens).
-- Rerank: POST /v1/rerank {query, documents: [string], model, top_k, return_documents,
-- truncation} -> {object: "list", data: [{index, relevance_score, document?}], model, usage:
-- {total_tokens}}, translated from/to the gateway's contract (Cohere's shape, lib/rerank.lua):
-- top_n -> top_k, data -> results, usage.total_tokens -> meta.tokens.input_tokens;
-- return_documents is filled in from the request; max_tokens_per_doc is refused (Voyage only
-- truncates to the model's context). Verified with `search`: Voyage's reranker and embeddings
-- reference pages (request fields, defaults) and MongoDB's copy of the same API reference
-- (answer: object "list", data). Voyage's files/batch API is not served here.
local compat = require("openai_compatible")
local chat = require("openai_chat")
local validate = require("validate")
local rerank = require("rerank")
local embeddings = require("embeddings_to_voyage")

local array = gw.json.array

local NAME = "Voyage AI"
local spec = { name = NAME, base_url = "https://api.voyageai.com/v1" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { embeddings = "translate", rerank = "translate" },
  decode_body = true,
  docs = "https://docs.voyageai.com/reference/embeddings-api",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "embeddings (dimensions -> output_dimension, base64 made by the gateway) and rerank (top_n -> top_k; max_tokens_per_doc refused)",
}

local REFUSED = {
  max_tokens_per_doc = "Voyage's rerank has no per-document token limit (only truncation to the model's context)",
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
                                      top_k = req.top_n }, body) }
  end
  return { url = compat.join_url(base, "/embeddings", ""), method = "POST", headers = headers,
           body = validate.encode(embeddings.request(ctx, body), body) }
end

function provider.response(ctx, res)
  if ctx.endpoint == "rerank" then
    local list, r = rerank.list(res, "data", NAME)
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
