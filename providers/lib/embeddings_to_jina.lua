-- Converter: OpenAI embeddings -> Jina AI embeddings (POST https://api.jina.ai/v1/embeddings), and
-- the answer back. Used by the jina provider:
--   request(ctx, body)  -> the Jina request body
--   response(ctx, res)  -> OpenAI's embeddings list, floats or base64 float32 as the client asked
--
-- Read: Jina's own OpenAPI (https://api.jina.ai/openapi.json, its header and endpoint list), Jina's
-- meta-prompt (github.com/jina-ai/meta-prompt: request {model, input, embedding_type, task,
-- dimensions, late_chunking}), and the embeddings page's example (https://jina.ai/embeddings). The
-- answer {model, object: "list", usage: {total_tokens, prompt_tokens}, data: [{object, index,
-- embedding}]} is from copies of Jina's schema, not from Jina's page itself.
--
-- Mapped: input (a string or a list of strings); dimensions; encoding_format (Jina is asked for
-- floats, `embedding_type: "float"`, and base64 is made here: OpenAI's little-endian float32);
-- task (Jina's own field, e.g. retrieval.query, accepted in an OpenAI body). Refused with 400:
-- token-array input, an encoding_format other than float or base64, any field not declared in
-- M.params (Jina's late_chunking, normalized, truncate: not taken through the OpenAI dialect).
-- Dropped: user (Jina has no place for it).
local chat = require("openai_chat")
local params = require("params")
local validate = require("validate")

local array = gw.json.array
local null = gw.json.null

local NAME = "Jina AI"
local M = { from = "embeddings", to = "jina" }

M.params = {
  input = "mapped", model = "mapped", dimensions = "mapped", encoding_format = "mapped",
  task = "mapped",  -- Jina's own field (retrieval.query, retrieval.passage, text-matching, …)
  user = "dropped: an end-user ID for OpenAI's abuse monitoring; Jina has no place for it and the vectors are the same",
}

function M.request(ctx, body)
  params.check(M, body, NAME .. " embeddings")
  local texts, base64 = chat.embedding_texts(body, NAME)
  if body.task ~= nil and body.task ~= null and type(body.task) ~= "string" then
    validate.wrong("task", "a string", body.task)
  end
  ctx.base64 = base64
  ctx.requested_model = body.model
  return { model = body.model, input = array(texts), embedding_type = "float", dimensions = body.dimensions,
           task = body.task ~= null and body.task or nil }
end

-- An OpenAI-like answer's vectors in index order (Jina and Voyage both answer data[].embedding).
function M.vectors(r, provider_name)
  local data = type(r) == "table" and r.data
  if type(data) ~= "table" then error(chat.upstream_error(provider_name .. " answered 2xx without embeddings")) end
  local vectors = {}
  for i, item in ipairs(data) do
    if type(item) ~= "table" or type(item.embedding) ~= "table" then
      error(chat.upstream_error(provider_name .. " answered an embedding that is not a list of floats"))
    end
    local index = math.type(item.index) == "integer" and item.index + 1 or i
    if index < 1 or index > #data or vectors[index] then
      error(chat.upstream_error(provider_name .. " answered embeddings with duplicate or out-of-range indexes"))
    end
    vectors[index] = item.embedding
  end
  return vectors
end

function M.response(ctx, res)
  local r = res.body
  local vectors = M.vectors(r, NAME)
  local usage = type(r.usage) == "table" and r.usage or {}
  local tokens = math.type(usage.prompt_tokens) == "integer" and usage.prompt_tokens or usage.total_tokens
  return { body = chat.embedding_list(vectors, ctx.requested_model, tokens, ctx.base64) }
end

return M
