-- providers/fireworks-ai.lua — Fireworks AI (OpenAI-compatible)
-- Docs: https://docs.fireworks.ai/tools-sdks/openai-compatibility
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Quirks: model ids are account paths (accounts/fireworks/models/<name>). Image generation
--   uses a Fireworks-specific path (/v1/image_generation/<model>), reachable as passthrough.
local compat = require("openai_compatible")

return compat.provider {
  name = "Fireworks AI",
  base_url = "https://api.fireworks.ai/inference/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}
