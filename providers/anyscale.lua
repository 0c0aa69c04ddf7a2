-- providers/anyscale.lua — Anyscale Endpoints (OpenAI-compatible)
-- Docs: https://docs.anyscale.com/endpoints/text-generation/query-a-model
-- Auth: Authorization: Bearer <key>   (keys look like esecret_...)
-- Endpoints: chat/completions, completions, embeddings, models.
--   No images, audio, rerank, moderations, files or batches endpoints (service shut down).
-- Quirks: LEGACY. Since 1 Aug 2024 the multi-tenant Anyscale Endpoints API is gone; it exists
--   only on the hosted Anyscale Platform (dedicated deployments). Kept for Portkey id parity;
--   point x-portkey-custom-host at your own Anyscale service's OpenAI-compatible /v1 base.
local compat = require("openai_compatible")

return compat.provider {
  name = "Anyscale",
  base_url = "https://api.endpoints.anyscale.com/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
  docs = "https://docs.anyscale.com/endpoints/text-generation/query-a-model",
  notes = "legacy: the shared Anyscale Endpoints API shut down 2024-08-01; set a custom host for your own Anyscale service",
}
