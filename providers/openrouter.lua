-- providers/openrouter.lua — OpenRouter (OpenAI-compatible router)
-- Docs: https://openrouter.ai/docs/api-reference/overview
-- Auth: Authorization: Bearer <key>   (sk-or-...)
-- Endpoints: chat/completions, completions, embeddings, models, audio/speech (input, model, voice,
--   response_format mp3|pcm; raw audio answer: https://openrouter.ai/docs/api/api-reference/speech/create-audio-speech),
--   rerank (Cohere's fields, answers results[].index/relevance_score/document:
--   https://openrouter.ai/docs/api/api-reference/rerank/create-rerank).
-- Not listed: audio/transcriptions — OpenRouter's takes JSON with base64 `input_audio`, not
--   OpenAI's multipart form; images — OpenRouter's image endpoint is POST /api/v1/images, not
--   /images/generations (through "*" under its own path); files — OpenRouter's Files API answers
--   in Anthropic's file shape (type, size_bytes, mime_type; no purpose), not OpenAI's; no
--   moderations or batches.
-- Quirks: the optional HTTP-Referer / X-Title attribution headers are not added (Portkey adds
--   its own); they are not required. Model ids are "<vendor>/<model>".
local compat = require("openai_compatible")

return compat.provider {
  name = "OpenRouter",
  base_url = "https://openrouter.ai/api/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "audio/speech", "rerank" },
  docs = "https://openrouter.ai/docs/api-reference/overview",
  notes = "model ids are <vendor>/<model>; transcriptions (JSON base64), images (/images) and files (Anthropic-shaped) not listed",
}
