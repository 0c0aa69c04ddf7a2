-- providers/fireworks-ai.lua — Fireworks AI (OpenAI-compatible)
-- Docs: https://docs.fireworks.ai/tools-sdks/openai-compatibility
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Not listed: rerank — POST /inference/v1/rerank exists but answers {"object": "list", "data":
--   [...]} instead of Cohere's results[] (https://docs.fireworks.ai/api-reference/rerank-documents);
--   audio/transcriptions — served on other hosts (audio-prod.us-virginia-1.direct.fireworks.ai,
--   https://docs.fireworks.ai/api-reference/audio-transcriptions), not this base URL; batches —
--   Fireworks' batch inference jobs live under /v1/accounts/{account}/batchInferenceJobs.
-- Quirks: model ids are account paths (accounts/fireworks/models/<name>). Image generation
--   uses a Fireworks-specific path (/v1/image_generation/<model>), reachable through "*".
local compat = require("openai_compatible")

return compat.provider {
  name = "Fireworks AI",
  base_url = "https://api.fireworks.ai/inference/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
  docs = "https://docs.fireworks.ai/api-reference",
  notes = "model ids are account paths (accounts/fireworks/models/<name>); rerank and audio not OpenAI/Cohere-shaped here",
}
