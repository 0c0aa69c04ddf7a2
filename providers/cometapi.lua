-- providers/cometapi.lua — CometAPI (OpenAI-compatible aggregator)
-- Docs: https://apidoc.cometapi.com/api/text/chat.md (chat; base URL https://api.cometapi.com/v1);
--   https://apidoc.cometapi.com/api/audio (speech, transcription, translation);
--   https://apidoc.cometapi.com/create-transcription-api-13851476
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, responses, embeddings, images/generations, audio/speech,
--   audio/transcriptions, audio/translations.
-- Quirks: one key for many upstream vendors; request fields and answers vary by the model's
--   vendor. The model catalog is https://api.cometapi.com/api/models (not /v1/models, and in its
--   own envelope {success, page, data:[…]}), so "models" is not declared. CometAPI also offers
--   Anthropic Messages (/v1/messages) and Gemini-native routes; their auth header was not verified,
--   so "messages" is not declared.
-- Verified paths: /v1/chat/completions, /v1/audio/speech, /v1/audio/transcriptions (read in the
--   reference). responses, embeddings, images/generations and audio/translations are reference
--   pages of CometAPI's "OpenAI format" section whose exact path was not shown in what I read.
local compat = require("openai_compatible")

return compat.provider {
  name = "CometAPI",
  base_url = "https://api.cometapi.com/v1",
  endpoints = { "chat/completions", "responses", "embeddings", "images/generations",
                "audio/speech", "audio/transcriptions", "audio/translations" },
  docs = "https://apidoc.cometapi.com/api/text/chat.md",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "aggregator; model list is /api/models (not served as /v1/models)",
}
