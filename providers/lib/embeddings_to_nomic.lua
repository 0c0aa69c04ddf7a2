-- Converter: OpenAI embeddings -> Nomic Atlas text embeddings (POST
-- https://api-atlas.nomic.ai/v1/embedding/text, https://docs.nomic.ai/reference/api/embed-text-v-1-embedding-text-post),
-- and the answer back. Used by the nomic provider:
--   request(ctx, body)  -> the Nomic request body
--   response(ctx, res)  -> OpenAI's embeddings list, floats or base64 float32 as the client asked
--
-- Read: Nomic's reference: request {texts: [string], model (nomic-embed-text-v1 | -v1.5), task_type
-- (search_document default | search_query | classification | clustering), long_text_mode,
-- max_tokens_per_text, dimensionality (v1.5 only)}; answer {embeddings: [[float]], usage:
-- {prompt_tokens, total_tokens}, model}.
--
-- Mapped: input (a string or a list of strings) -> texts; dimensions -> dimensionality;
-- encoding_format (Nomic answers floats; base64 is made here: OpenAI's little-endian float32);
-- task_type (Nomic's own field, accepted in an OpenAI body; Nomic's default search_document
-- otherwise); usage.prompt_tokens. Refused with 400: token-array input, an encoding_format other
-- than float or base64, any field not declared in M.params. Dropped: user (Nomic has no place for it).
local chat = require("openai_chat")
local params = require("params")
local validate = require("validate")

local array = gw.json.array
local null = gw.json.null

local NAME = "Nomic"
local M = { from = "embeddings", to = "nomic" }

M.params = {
  input = "mapped", model = "mapped", dimensions = "mapped", encoding_format = "mapped",
  task_type = "mapped",  -- Nomic's own field
  user = "dropped: an end-user ID for OpenAI's abuse monitoring; Nomic has no place for it and the vectors are the same",
}

function M.request(ctx, body)
  params.check(M, body, NAME .. " embeddings")
  local texts, base64 = chat.embedding_texts(body, NAME)
  if body.task_type ~= nil and body.task_type ~= null and type(body.task_type) ~= "string" then
    validate.wrong("task_type", "a string", body.task_type)
  end
  ctx.base64 = base64
  ctx.requested_model = body.model
  return { model = body.model, texts = array(texts), dimensionality = body.dimensions,
           task_type = body.task_type ~= null and body.task_type or nil }
end

function M.response(ctx, res)
  local r = res.body
  local vectors = type(r) == "table" and r.embeddings
  if type(vectors) ~= "table" then error(chat.upstream_error(NAME .. " answered 2xx without embeddings")) end
  for _, vector in ipairs(vectors) do
    if type(vector) ~= "table" then error(chat.upstream_error(NAME .. " answered an embedding that is not a list")) end
  end
  local usage = type(r.usage) == "table" and r.usage or {}
  return { body = chat.embedding_list(vectors, ctx.requested_model, usage.prompt_tokens, ctx.base64) }
end

return M
