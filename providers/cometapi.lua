-- providers/cometapi.lua — CometAPI (OpenAI-compatible aggregator)
-- Docs: https://apidoc.cometapi.com/api/text/chat.md (chat; base URL https://api.cometapi.com/v1);
--   https://apidoc.cometapi.com/api/text/responses ; https://apidoc.cometapi.com/api/text/embeddings ;
--   https://apidoc.cometapi.com/api/text/anthropic-messages ;
--   https://apidoc.cometapi.com/images-generations ; https://apidoc.cometapi.com/api/image/openai/image-editing ;
--   https://apidoc.cometapi.com/api/audio (speech) ; https://apidoc.cometapi.com/create-transcription-api-13851476 ;
--   https://apidoc.cometapi.com/api/audio/create-translation ;
--   https://apidoc.cometapi.com/zh-Hans/guides/how-to-list-available-models (/v1/models vs /api/models)
-- Auth: Authorization: Bearer <key> on every route (the Messages route also takes x-api-key; a
--   client's x-api-key is read as the key and sent on as Bearer, which CometAPI documents).
-- Endpoints: chat/completions, responses, messages (Anthropic Messages), embeddings, models,
--   images/generations, images/edits (multipart), audio/speech, audio/transcriptions,
--   audio/translations.
-- Quirks: one key for many upstream vendors; request fields and answers vary by the model's vendor.
--   GET /v1/models is the authenticated OpenAI-shaped list; CometAPI's public catalog
--   https://api.cometapi.com/api/models has its own envelope and is not under /v1 (not served here).
--   For messages, the client's anthropic-version / anthropic-beta headers are sent on (client_headers).
--   CometAPI's Gemini-native, Midjourney, Suno, video and other vendor-native routes are not
--   OpenAI-shaped and are not declared (other /v1 paths pass through as "*").
-- Not verified: whether CometAPI requires anthropic-version on /v1/messages (sent when the client
--   sends it).
local compat = require("openai_compatible")

return compat.provider {
  name = "CometAPI",
  base_url = "https://api.cometapi.com/v1",
  endpoints = { "chat/completions", "responses", "messages", "embeddings", "models",
                "images/generations", "images/edits",
                "audio/speech", "audio/transcriptions", "audio/translations" },
  client_headers = { "anthropic-version", "anthropic-beta" },
  docs = "https://apidoc.cometapi.com/api/text/chat.md",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "aggregator (many vendors, one key); also Anthropic Messages at /v1/messages",
}
