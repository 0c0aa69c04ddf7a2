-- providers/deepinfra.lua — DeepInfra (OpenAI-compatible API)
-- Docs: https://deepinfra.com/docs/openai_api
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models, images/generations, audio/speech,
--   audio/transcriptions, audio/translations, files, batches — all under /v1/openai
--   (https://docs.deepinfra.com/api-reference: openai-audio-speech, openai-audio-translations,
--   openai-audio-transcriptions; image API pages on deepinfra.com/<model>/api;
--   https://docs.deepinfra.com/batch/batch-endpoints for files + batches, OpenAI's shapes).
--   The transcriptions page shows the path /v1/audio/transcriptions; the /v1/openai form is
--   inferred from translations and speech (not verified live).
-- Not listed: rerank (DeepInfra's rerankers use the native /v1/inference/<model> API, not
--   /v1/openai), moderations, image edits/variations.
-- Quirks: the OpenAI-compatible surface lives under /v1/openai (not /v1); DeepInfra's native
--   inference API (/v1/inference/<model>) is not under this base.
local compat = require("openai_compatible")

return compat.provider {
  name = "DeepInfra",
  base_url = "https://api.deepinfra.com/v1/openai",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "images/generations",
    "audio/speech", "audio/transcriptions", "audio/translations", "files", "batches" },
  docs = "https://docs.deepinfra.com/api-reference",
  notes = "OpenAI-compatible surface under /v1/openai; images answer b64_json only",
}
