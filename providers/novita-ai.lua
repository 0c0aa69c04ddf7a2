-- providers/novita-ai.lua — Novita AI (OpenAI-compatible LLM API)
-- Docs: https://novita.ai/docs/api-reference/model-apis-llm-create-chat-completion
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models, files, batches (Batch API, "fully
--   compatible with the OpenAI API standard": https://novita.ai/docs/guides/llm-batch-api,
--   https://novita.ai/docs/api-reference/model-apis-llm-upload-batch-input-file), rerank (Cohere's
--   fields, answers results[].index/relevance_score/document and usage:
--   https://novita.ai/docs/api-reference/model-apis-llm-create-rerank).
-- Not listed: images and audio are Novita's own async task APIs, not OpenAI's shapes.
-- Quirks: Novita's current API reference uses https://api.novita.ai/openai/v1/...; the older
--   base https://api.novita.ai/v3/openai (Portkey's value) is still documented in the LLM guide
--   and can be set via x-portkey-custom-host.
local compat = require("openai_compatible")

return compat.provider {
  name = "Novita AI",
  base_url = "https://api.novita.ai/openai/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "files", "batches", "rerank" },
  docs = "https://novita.ai/docs/api-reference",
  notes = "old base https://api.novita.ai/v3/openai via custom host; batch input lines are {custom_id, body}",
}
