-- providers/together-ai.lua — Together AI (OpenAI-compatible)
-- Docs: https://docs.together.ai/docs/inference/openai-compatibility
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models, images/generations, audio/speech,
--   audio/transcriptions, audio/translations, rerank, files (https://docs.together.ai/reference:
--   images-create, audio-speech, audio-transcriptions, audio-translations, rerank-1, files-*).
--   Rerank takes Cohere's fields (query, documents, top_n, return_documents) and answers
--   results[].index/relevance_score, so it is served natively.
-- Not listed: batches — Together's POST /v1/batches answers {"job": {...}, "warning"} with
--   upper-case statuses, not OpenAI's Batch object (https://docs.together.ai/reference/batch-create),
--   so it stays off the named endpoint; no moderations endpoint.
-- Quirks: current docs use host api.together.ai; the older api.together.xyz host (still what
--   Portkey's gateway uses) serves the same API and can be set via x-portkey-custom-host.
--   Files: uploads are Together's own POST /v1/files/upload (multipart purpose, file_name,
--   file_type, file: https://docs.together.ai/reference/upload-file), served under "files" as
--   every /v1/files path is; list, retrieve, content and delete follow OpenAI's paths. OpenAI's
--   own upload (POST /v1/files) is not Together's upload and is not translated.
local compat = require("openai_compatible")

return compat.provider {
  name = "Together AI",
  base_url = "https://api.together.ai/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "images/generations",
    "audio/speech", "audio/transcriptions", "audio/translations", "rerank", "files" },
  docs = "https://docs.together.ai/reference",
  notes = "batches not listed (Together's Batch object is not OpenAI's); old host api.together.xyz via custom host",
}
