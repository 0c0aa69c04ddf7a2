-- Pinecone inference rerank (https://docs.pinecone.io/reference/api/2025-10/inference/rerank):
-- POST https://api.pinecone.io/rerank with `Api-Key: <key>` and `X-Pinecone-API-Version: 2025-10`,
-- {model, query, documents: [{text, …}], top_n, return_documents (default true), rank_fields,
-- parameters} -> {model, data: [{index, score, document?}], usage: {rerank_units}}. Translated from
-- and to the gateway's rerank contract (Cohere's shape, lib/rerank.lua): documents -> [{text}],
-- top_n as is, return_documents false (documents are filled in from the request), data[].score ->
-- results[].relevance_score, usage.rerank_units -> meta.billed_units.search_units; max_tokens_per_doc
-- is refused (Pinecone's `parameters.truncate` is END or NONE, not a token count). Verified with
-- `search`: Pinecone's API reference for 2025-01/2025-04/2025-10 (request fields, headers, the curl
-- example and its answer). The rest of Pinecone is a vector database, not served here.
local compat = require("openai_compatible")
local chat = require("openai_chat")
local validate = require("validate")
local rerank = require("rerank")

local array = gw.json.array

local NAME = "Pinecone"
local API_VERSION = "2025-10"
local spec = { name = NAME, base_url = "https://api.pinecone.io", auth_header = "api-key", auth_prefix = "",
               extra_headers = { ["x-pinecone-api-version"] = API_VERSION } }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { rerank = "translate" },
  decode_body = true,
  docs = "https://docs.pinecone.io/reference/api/2025-10/inference/rerank",
  auth_scheme = "Api-Key: <key> (+ X-Pinecone-API-Version: " .. API_VERSION .. ")",
  notes = "rerank only (score -> relevance_score, rerank_units -> search_units); max_tokens_per_doc refused",
}

local REFUSED = {
  max_tokens_per_doc = "Pinecone's rerank truncates to the model's limit (parameters.truncate END or NONE), not to a token count",
}

function provider.prepare(ctx)
  compat.require_key(spec, ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  local req = rerank.read(body, NAME, REFUSED)
  ctx.rerank = req
  local documents = array()
  for i, text in ipairs(req.texts) do documents[i] = { text = text } end
  local headers = compat.auth_headers(spec, ctx.api_key)
  headers.accept = "application/json"
  return { url = compat.join_url(compat.base_url(spec, ctx), "/rerank", ""), method = "POST", headers = headers,
           body = validate.encode({ model = req.model, query = req.query, documents = documents, top_n = req.top_n,
                                    return_documents = false }, body) }
end

function provider.response(ctx, res)
  local list, r = rerank.list(res, "data", NAME)
  local results = {}
  for i, item in ipairs(list) do
    results[i] = { index = type(item) == "table" and item.index, score = type(item) == "table" and item.score }
  end
  local usage = type(r.usage) == "table" and r.usage or {}
  return rerank.answer(ctx.rerank, results, { search_units = usage.rerank_units }, NAME)
end

return provider
