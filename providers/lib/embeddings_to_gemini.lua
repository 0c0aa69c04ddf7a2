-- Converter: OpenAI embeddings -> Gemini batchEmbedContents
-- (https://ai.google.dev/api/embeddings#method:-models.batchembedcontents), and the answer back.
-- Used by the google provider:
--   request(ctx)        -> the batchEmbedContents body (one request per input text) and the model
--   response(ctx, res)  -> OpenAI's embeddings list, floats or base64 float32 as the client asked
--
-- Mapped: input (a string or a list of strings) -> one request per text; dimensions ->
-- outputDimensionality; x-portkey-gemini-task-type -> taskType. Refused with 400: token-array
-- input (Gemini embeds text), an encoding_format other than float or base64, a model name that
-- cannot go in a URL path, any field not declared in M.params (lib/params.lua). Dropped: user
-- (Gemini has no place for it). Gemini reports no token counts for embeddings, so usage is 0.
local chat = require("openai_chat")
local params = require("params")
local gemini = require("chat_to_gemini")

local array = gw.json.array

local NAME = "Google Gemini"
local M = { from = "embeddings", to = "gemini" }

M.params = {
  input = "mapped", model = "mapped", dimensions = "mapped", encoding_format = "mapped",
  user = "dropped: an end-user ID for OpenAI's abuse monitoring; Gemini has no place for it and the vectors are the same",
}

function M.request(ctx)
  local body = ctx.body
  params.check(M, body, NAME .. " embeddings")
  local texts, base64 = chat.embedding_texts(body, NAME)
  local model = gemini.model_id(body, "embedding model, e.g. gemini-embedding-001")
  ctx.base64 = base64
  ctx.requested_model = body.model
  local requests = array()
  for i, text in ipairs(texts) do
    requests[i] = { model = "models/" .. model, content = { parts = array({ { text = text } }) },
                    outputDimensionality = body.dimensions, taskType = ctx.settings.gemini_task_type }
  end
  return { requests = requests }, model
end

function M.response(ctx, res)
  local r = res.body
  local embeddings = type(r) == "table" and r.embeddings
  if type(embeddings) ~= "table" then error(chat.upstream_error(NAME .. " answered 2xx without embeddings")) end
  local vectors = {}
  for i, e in ipairs(embeddings) do
    if type(e) ~= "table" or type(e.values) ~= "table" then
      error(chat.upstream_error(NAME .. " answered an embedding without values"))
    end
    vectors[i] = e.values
  end
  return { body = chat.embedding_list(vectors, ctx.requested_model, 0, ctx.base64) }
end

return M
