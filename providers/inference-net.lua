-- providers/inference-net.lua — Inference.net (OpenAI-compatible)
-- Docs: https://docs.inference.net (read only as quoted by third parties: api-evangelist's
--   inference-packages.yml citing https://docs.inference.net/cli/overview, and NeuroLink's
--   provider guide, which lists https://api.inference.net/v1 and an unauthenticated GET /v1/models)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, models.
-- Quirks: none known.
-- Not verified: Inference.net's own reference pages were not readable here; legacy completions
--   (which Portkey maps) were not confirmed, so not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "Inference.net",
  base_url = "https://api.inference.net/v1",
  endpoints = { "chat/completions", "models" },
  docs = "https://docs.inference.net",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "not verified against Inference.net's own reference (third-party copies only)",
}
