-- providers/together-ai.lua — Together AI (OpenAI-compatible)
-- Docs: https://docs.together.ai/docs/inference/openai-compatibility
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Quirks: current docs use host api.together.ai; the older api.together.xyz host (still what
--   Portkey's gateway uses) serves the same API and can be set via x-portkey-custom-host.
--   Images (/v1/images/generations) and audio endpoints work as passthrough.
local compat = require("openai_compatible")

return compat.provider {
  name = "Together AI",
  base_url = "https://api.together.ai/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}
