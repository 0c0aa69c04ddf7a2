-- providers/hyperbolic.lua — Hyperbolic (OpenAI-compatible)
-- Docs: https://docs.hyperbolic.xyz/
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, models.
--   No OpenAI-shaped images, audio, rerank, moderations, files or batches (Hyperbolic's own paths).
-- Quirks: image generation is /v1/image/generation (Hyperbolic-specific), reachable as
--   passthrough. No embeddings.
local compat = require("openai_compatible")

return compat.provider {
  name = "Hyperbolic",
  base_url = "https://api.hyperbolic.xyz/v1",
  endpoints = { "chat/completions", "completions", "models" },
  docs = "https://docs.hyperbolic.xyz/",
  notes = "images (/v1/image/generation) and audio are Hyperbolic's own paths, through \"*\"",
}
