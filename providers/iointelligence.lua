-- providers/iointelligence.lua — io.net IO Intelligence (OpenAI-compatible)
-- Docs: https://io.net/docs/reference/ai-models/get-started-with-io-intelligence-api ;
--   https://io.net/docs/reference/ai-models/create-embedding
-- Auth: Authorization: Bearer <io.net API key> (the reference also lists an x-api-key header for SDKs)
-- Endpoints: chat/completions, embeddings, models.
-- Quirks: the API lives under /api/v1 (https://api.intelligence.io.solutions/api/v1), not /v1.
--   Embeddings take vLLM's extra fields (truncate_prompt_tokens, add_special_tokens, priority).
-- Not verified: the per-model daily quotas and which models serve embeddings.
local compat = require("openai_compatible")

return compat.provider {
  name = "IO Intelligence",
  base_url = "https://api.intelligence.io.solutions/api/v1",
  endpoints = { "chat/completions", "embeddings", "models" },
  docs = "https://io.net/docs/reference/ai-models/get-started-with-io-intelligence-api",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "path prefix /api/v1",
}
