-- POST /v1/messages/count_tokens (Anthropic's dialect) for Gemini models: Gemini's countTokens
-- (https://ai.google.dev/api/tokens), for the google provider and Gemini on vertex-ai.
--
--   local count_tokens = require("gemini_count_tokens")
--   count_tokens.request(ctx, vertex) -> the countTokens body and the model name; or nil, nil, urls
--                                        when image URLs must be fetched first
--   count_tokens.response(ctx, res)   -> { body = { input_tokens = N } }
--
-- The body is translated the way /v1/messages is (lib/messages_to_chat.lua, then
-- lib/chat_to_gemini.lua), so the count covers what a generateContent call with the same request
-- would send: system instruction, contents, tools and their schemas. The Gemini API takes it as
-- `generateContentRequest` (with the model as models/<name>); Vertex AI takes contents,
-- systemInstruction, tools and generationConfig at the top level and has no toolConfig.
local chat = require("openai_chat")
local messages_to_chat = require("messages_to_chat")
local chat_to_gemini = require("chat_to_gemini")

local M = {}

function M.request(ctx, vertex)
  local messages_body = ctx.body
  ctx.body = messages_to_chat.request(ctx, messages_body, { count_tokens = true })
  local out, model, fetch = chat_to_gemini.request(ctx)
  ctx.body = messages_body  -- prepare runs again after a fetch, with the client's body
  if fetch then return nil, nil, fetch end
  ctx.count_tokens = true
  if vertex then
    out.toolConfig = nil
    return out, model
  end
  out.model = "models/" .. model
  return { generateContentRequest = out }, model
end

function M.response(ctx, res)
  local total = type(res.body) == "table" and res.body.totalTokens
  if math.type(total) ~= "integer" then
    error(chat.upstream_error("Gemini's countTokens answered 2xx without totalTokens"))
  end
  return { body = { input_tokens = total } }
end

return M
