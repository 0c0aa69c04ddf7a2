-- providers/nebius.lua — Nebius Token Factory (formerly Nebius AI Studio), OpenAI-compatible
-- Docs: https://docs.tokenfactory.nebius.com/api-reference/introduction
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Quirks: the service was renamed; the old host api.studio.nebius.ai (still in Portkey's
--   gateway) can be set via x-portkey-custom-host if needed. Images via passthrough.
local compat = require("openai_compatible")

return compat.provider {
  name = "Nebius",
  base_url = "https://api.tokenfactory.nebius.com/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}
