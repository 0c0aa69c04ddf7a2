-- Shared mapping for /v1/rerank: the client contract is Cohere's v2 rerank
-- (https://docs.cohere.com/reference/rerank), translated per provider by the provider files
-- (cohere, jina, voyage, pinecone, bedrock):
--
--   local rerank = require("rerank")
--   local req = rerank.read(ctx.body, "Jina AI", { max_tokens_per_doc = "why it is refused" })
--   -- build the provider's body from req.model, req.query, req.texts, req.top_n, req.max_tokens_per_doc
--   ctx.rerank = req
--   ...
--   return rerank.answer(ctx.rerank, results, { id = …, search_units = …, input_tokens = … })
--
-- Client request: {model, query, documents: [string | {text}], top_n?, return_documents?,
-- max_tokens_per_doc?}. Client answer: {id, results: [{index, relevance_score, document?: {text}}],
-- meta: {billed_units: {search_units?}, tokens?: {input_tokens}}}.
--
-- Mapped here for every provider: documents (strings, or objects whose only field is `text`) ->
-- the list of texts; return_documents -> `document: {text}` on each result, filled in by the
-- gateway from the request's own documents by `index` (so it is honoured whether or not the
-- provider can return documents, and the provider is never asked to send them back). Each
-- provider maps top_n and model itself. Refused with 400 naming the field: any field not in the
-- contract (rank_fields, max_chunks_per_doc, Cohere v1's object documents with other fields, …),
-- the fields a provider passes as `refused` (e.g. max_tokens_per_doc where the provider has no
-- per-document token limit), and wrong types (validate.lua's messages and codes).
local compat = require("openai_compatible")
local params = require("params")
local validate = require("validate")

local null = gw.json.null
local array = gw.json.array
local is_array = gw.json.is_array

local M = {}

-- The client contract's fields; a provider's `refused` table overrides entries for its target.
M.params = {
  model = "mapped", query = "mapped", documents = "mapped", top_n = "mapped",
  return_documents = "mapped",  -- filled in by the gateway from the request's documents
  max_tokens_per_doc = "mapped",
}

local function absent(value) return value == nil or value == null end

local function positive_integer(body, key)
  local value = body[key]
  if absent(value) then return nil end
  if math.type(value) ~= "integer" then validate.wrong(key, "an integer", value) end
  if value < 1 then
    validate.refuse(key, "Invalid value for '" .. key .. "': it must be at least 1.", "invalid_value")
  end
  return value
end

-- Reads and checks a client's rerank request for `target` (the provider's name, for messages).
-- `refused` maps a field the provider cannot honour to the reason. Returns
-- {model, query, texts, top_n, return_documents, max_tokens_per_doc}.
function M.read(body, target, refused)
  if type(body) ~= "table" or is_array(body) then validate.wrong("body", "an object", body) end
  local declared = { from = "rerank", params = M.params }
  if refused then
    declared.params = {}
    for key, value in pairs(M.params) do declared.params[key] = value end
    for key in pairs(refused) do declared.params[key] = "refused" end
  end
  params.check(declared, body, target, refused)

  if type(body.model) ~= "string" or body.model == "" then
    validate.wrong("model", "a string naming the rerank model", body.model)
  end
  if type(body.query) ~= "string" then validate.wrong("query", "a string", body.query) end
  local documents = body.documents
  if type(documents) ~= "table" or not (is_array(documents) or documents[1] ~= nil) then
    validate.wrong("documents", "an array of strings or {\"text\": …} objects", documents)
  end
  if #documents == 0 then
    validate.refuse("documents", "Invalid value for 'documents': at least one document is needed.", "invalid_value")
  end
  local texts = {}
  for i, document in ipairs(documents) do
    local path = "documents[" .. (i - 1) .. "]"
    if type(document) == "string" then
      texts[i] = document
    elseif type(document) == "table" and not is_array(document) then
      if type(document.text) ~= "string" then validate.wrong(path .. ".text", "a string", document.text) end
      for key in pairs(document) do
        if key ~= "text" then
          error(compat.bad_request("'" .. path .. "." .. tostring(key) .. "' is not supported: a document is a string or " ..
            "{\"text\": …} (fields to rank by are not supported when translating rerank for " .. target .. ")",
            path .. "." .. tostring(key), "unsupported_parameter"))
        end
      end
      texts[i] = document.text
    else
      validate.wrong(path, "a string or an object with a text field", document)
    end
  end
  local return_documents = body.return_documents
  if not absent(return_documents) and type(return_documents) ~= "boolean" then
    validate.wrong("return_documents", "a boolean", return_documents)
  end
  return {
    model = body.model, query = body.query, texts = texts,
    top_n = positive_integer(body, "top_n"),
    return_documents = return_documents == true,
    max_tokens_per_doc = positive_integer(body, "max_tokens_per_doc"),
  }
end

-- The client's answer. `results` is a list of {index = 0-based, score = number} in the
-- provider's order (most relevant first); `meta` may carry id, search_units and input_tokens.
-- An index outside the request's documents, or a missing score, is a 502: the answer cannot be
-- what it claims.
function M.answer(req, results, meta, provider_name)
  meta = meta or {}
  local out = array()
  for i, r in ipairs(results) do
    local index, score = r.index, r.score
    if math.type(index) ~= "integer" or index < 0 or index >= #req.texts or type(score) ~= "number" then
      error({ status = 502, type = "upstream_error", code = "invalid_upstream_response",
              message = provider_name .. " answered a rerank result without a valid index and score" })
    end
    local item = { index = index, relevance_score = score }
    if req.return_documents then item.document = { text = req.texts[index + 1] } end
    out[i] = item
  end
  local billed = {}
  if meta.search_units ~= nil then billed.search_units = meta.search_units end
  local body = { id = meta.id or gw.uuid(), results = out, meta = { billed_units = billed } }
  if meta.input_tokens ~= nil then body.meta.tokens = { input_tokens = meta.input_tokens } end
  return { body = body }
end

-- A provider's answer list at `field` (e.g. "results", "data"), or a 502.
function M.list(res, field, provider_name)
  local r = res.body
  local list = type(r) == "table" and r[field]
  if type(list) ~= "table" then
    error({ status = 502, type = "upstream_error", code = "invalid_upstream_response",
            message = provider_name .. " answered 2xx without a '" .. field .. "' list" })
  end
  return list, r
end

return M
