-- providers/kluster-ai.lua — kluster.ai (OpenAI-compatible, realtime and batch)
-- Docs: https://docs.kluster.ai/api-reference/reference ; https://docs.kluster.ai/get-started/start-api
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, models, files (upload of batch JSONL, retrieve, content), batches
--   (create, retrieve, list, cancel) — OpenAI's Batch API shape.
-- Quirks: batch input lines use url "/v1/chat/completions"; model ids like
--   "klusterai/Meta-Llama-3.3-70B-Instruct-Turbo".
-- Not verified: current service status (the reference was readable; no live check), and
--   embeddings (listed by a third-party gateway at /v1/embeddings, not in what I read of kluster's
--   reference — not declared). A second host, router.kluster.ai, is named by third parties only.
local compat = require("openai_compatible")

return compat.provider {
  name = "kluster.ai",
  base_url = "https://api.kluster.ai/v1",
  endpoints = { "chat/completions", "models", "files", "batches" },
  docs = "https://docs.kluster.ai/api-reference/reference",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "OpenAI-style files + batches; service status not verified live",
}
