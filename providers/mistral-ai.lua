-- providers/mistral-ai.lua — Mistral AI (La Plateforme), OpenAI-compatible
-- Docs: https://docs.mistral.ai/api/
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, embeddings, models.
-- Quirks: no legacy /completions; fill-in-the-middle (Codestral) lives at
--   /v1/fim/completions and is reachable as passthrough (client calls /v1/fim/completions).
--   Mistral rejects some OpenAI-only fields (e.g. logit_bias); bodies pass through unchanged.
local compat = require("openai_compatible")

return compat.provider {
  name = "Mistral AI",
  semconv_name = "mistral_ai",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  base_url = "https://api.mistral.ai/v1",
  endpoints = { "chat/completions", "embeddings", "models" },
}
