-- Converter: OpenAI embeddings -> Voyage AI embeddings (POST https://api.voyageai.com/v1/embeddings,
-- https://docs.voyageai.com/reference/embeddings-api), and the answer back. Used by the voyage
-- provider:
--   request(ctx, body)  -> the Voyage request body
--   response(ctx, res)  -> OpenAI's embeddings list, floats or base64 float32 as the client asked
--
-- Read: Voyage's reference (input: a string or up to 1,000 strings; model; input_type null | query
-- | document; truncation; output_dimension; output_dtype) and Voyage's OpenAPI/Fern definitions
-- (answer {object: "list", data: [{object: "embedding", embedding, index}], model, usage:
-- {total_tokens}}).
--
-- Mapped: input; dimensions -> output_dimension; encoding_format (Voyage is asked for floats, its
-- default, and base64 is made here: OpenAI's little-endian float32); input_type (Voyage's own
-- field, accepted in an OpenAI body); usage.total_tokens -> prompt_tokens and total_tokens.
-- Refused with 400: token-array input, an encoding_format other than float or base64, any field
-- not declared in M.params (output_dtype: int8/binary vectors are not OpenAI floats).
-- Dropped: user (Voyage has no place for it).
local chat = require("openai_chat")
local params = require("params")
local jina = require("embeddings_to_jina")

local array = gw.json.array
local null = gw.json.null

local NAME = "Voyage AI"
local M = { from = "embeddings", to = "voyage" }

M.params = {
  input = "mapped", model = "mapped", dimensions = "mapped", encoding_format = "mapped",
  input_type = "mapped",  -- Voyage's own field: query or document
  user = "dropped: an end-user ID for OpenAI's abuse monitoring; Voyage has no place for it and the vectors are the same",
}

function M.request(ctx, body)
  params.check(M, body, NAME .. " embeddings")
  local texts, base64 = chat.embedding_texts(body, NAME)  -- also checks input_type is a string
  ctx.base64 = base64
  ctx.requested_model = body.model
  return { model = body.model, input = array(texts), output_dimension = body.dimensions,
           input_type = body.input_type ~= null and body.input_type or nil }
end

function M.response(ctx, res)
  local r = res.body
  local vectors = jina.vectors(r, NAME)
  local usage = type(r.usage) == "table" and r.usage or {}
  return { body = chat.embedding_list(vectors, ctx.requested_model, usage.total_tokens, ctx.base64) }
end

return M
