-- Converter: OpenAI embeddings -> Cohere v2 embed (https://docs.cohere.com/reference/embed), and
-- the answer back. Used by the cohere provider:
--   request(ctx, body)  -> the embed request body (notes in ctx)
--   response(ctx, res)  -> OpenAI's embeddings list, floats or base64 float32 as the client asked
--
-- Mapped: input (a string or a list of strings) -> texts; dimensions -> output_dimension;
-- input_type from the body, else x-portkey-cohere-input-type, else search_document (Cohere
-- requires one). Refused with 400: token-array input (Cohere embeds text here), an
-- encoding_format other than float or base64, any field not declared in M.params (lib/params.lua).
-- Dropped: user (Cohere has no place for it).
local chat = require("openai_chat")
local params = require("params")

local array = gw.json.array

local NAME = "Cohere"
local M = { from = "embeddings", to = "cohere_v2" }

M.params = {
  input = "mapped", model = "mapped", dimensions = "mapped", encoding_format = "mapped",
  input_type = "mapped",  -- Cohere's own field, accepted in an OpenAI body
  user = "dropped: an end-user ID for OpenAI's abuse monitoring; Cohere has no place for it and the vectors are the same",
}

function M.request(ctx, body)
  params.check(M, body, NAME .. " embed")
  local texts, base64 = chat.embedding_texts(body, NAME)
  ctx.base64 = base64
  ctx.requested_model = body.model
  return {
    model = body.model, texts = array(texts), embedding_types = array({ "float" }),
    input_type = body.input_type or ctx.settings.cohere_input_type or "search_document",
    output_dimension = body.dimensions,
  }
end

function M.response(ctx, res)
  local r = res.body
  if type(r) ~= "table" then error(chat.upstream_error(NAME .. " answered 2xx with something that is not JSON")) end
  local vectors = type(r.embeddings) == "table" and r.embeddings.float
  if type(vectors) ~= "table" then error(chat.upstream_error(NAME .. " answered without float embeddings")) end
  local input = type(r.meta) == "table" and type(r.meta.billed_units) == "table" and r.meta.billed_units.input_tokens or 0
  return { body = chat.embedding_list(vectors, ctx.requested_model, input, ctx.base64) }
end

return M
