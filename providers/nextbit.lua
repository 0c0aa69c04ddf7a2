-- providers/nextbit.lua — Nextbit (nextbit256, OpenAI-compatible)
-- Docs: no API reference of Nextbit's own was found. Sources: Portkey's provider (base
--   https://api.nextbit256.com/v1, Bearer, chatComplete + complete), Hugging Face's inference
--   provider client ("nextbit", conversational on https://api.nextbit256.com), and public catalog
--   scrapers that read GET https://api.nextbit256.com/v1/models (answers 200 without a key).
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions (Portkey), models (observed by third parties).
-- Status: live in 2026 (model catalog answers); not verified with a key.
local compat = require("openai_compatible")

return compat.provider {
  name = "Nextbit",
  base_url = "https://api.nextbit256.com/v1",
  endpoints = { "chat/completions", "completions", "models" },
  docs = "https://api.nextbit256.com/v1/models",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "no own API reference found; endpoints from Portkey and Hugging Face's client; not verified with a key",
}
