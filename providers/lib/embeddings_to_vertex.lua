-- Converter: OpenAI embeddings -> Vertex AI text embeddings through the publisher model's
-- `:predict` (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api),
-- and the answer back. Used by the vertex-ai provider:
--   request(ctx, body)  -> the predict body
--   response(ctx, res)  -> OpenAI's embeddings list, floats or base64 float32 as the client asked
--
-- Read: the text-embeddings API page (instances: [{content, task_type?, title?}]; parameters
-- {autoTruncate, outputDimensionality}; models gemini-embedding-001 (one instance per request),
-- text-embedding-005, text-multilingual-embedding-002), the REST types TextEmbeddingPredictionParams
-- and TextEmbedding ({values, statistics: {tokenCount, truncated}}). Not verified: whether
-- `:predict` answers statistics as token_count or tokenCount — both are read.
--
-- Mapped: input (a string or a list of strings) -> one instance per text; dimensions ->
-- parameters.outputDimensionality; encoding_format (Vertex answers floats; base64 is made here);
-- task_type (Vertex's own instance field, e.g. RETRIEVAL_QUERY, accepted in an OpenAI body);
-- usage.prompt_tokens = the sum of statistics.token_count. Refused with 400: token-array input, an
-- encoding_format other than float or base64, more than one input for gemini-embedding-* (one
-- instance per request), any field not declared in M.params. Dropped: user.
local chat = require("openai_chat")
local params = require("params")
local validate = require("validate")

local array = gw.json.array
local null = gw.json.null

local NAME = "Vertex AI"
local M = { from = "embeddings", to = "vertex_predict" }

M.params = {
  input = "mapped", model = "mapped", dimensions = "mapped", encoding_format = "mapped",
  task_type = "mapped",  -- Vertex's own instance field (RETRIEVAL_QUERY, RETRIEVAL_DOCUMENT, …)
  user = "dropped: an end-user ID for OpenAI's abuse monitoring; Vertex has no place for it and the vectors are the same",
}

function M.request(ctx, body)
  params.check(M, body, NAME .. " embeddings")
  local texts, base64 = chat.embedding_texts(body, NAME)
  local task = body.task_type
  if task == null then task = nil end
  if task ~= nil and type(task) ~= "string" then validate.wrong("task_type", "a string", task) end
  if #texts > 1 and body.model:match("^gemini%-embedding") then
    error(chat.bad_request(NAME .. "'s " .. body.model .. " embeds one text per request; input has " .. #texts ..
      " (send them one by one)", "input"))
  end
  ctx.base64 = base64
  ctx.requested_model = body.model
  local instances = array()
  for i, text in ipairs(texts) do instances[i] = { content = text, task_type = task } end
  local out = { instances = instances }
  if body.dimensions ~= nil and body.dimensions ~= null then
    out.parameters = { outputDimensionality = body.dimensions }
  end
  return out
end

function M.response(ctx, res)
  local r = res.body
  local predictions = type(r) == "table" and r.predictions
  if type(predictions) ~= "table" then error(chat.upstream_error(NAME .. " answered 2xx without predictions")) end
  local vectors, tokens = {}, 0
  for i, p in ipairs(predictions) do
    local e = type(p) == "table" and p.embeddings
    if type(e) ~= "table" or type(e.values) ~= "table" then
      error(chat.upstream_error(NAME .. " answered a prediction without embeddings.values"))
    end
    vectors[i] = e.values
    local s = type(e.statistics) == "table" and e.statistics or {}
    local count = s.token_count or s.tokenCount
    if type(count) == "number" then tokens = tokens + math.floor(count) end
  end
  return { body = chat.embedding_list(vectors, ctx.requested_model, tokens, ctx.base64) }
end

return M
