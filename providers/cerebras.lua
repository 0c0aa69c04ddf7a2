-- providers/cerebras.lua — Cerebras Inference (OpenAI-compatible)
-- Docs: https://inference-docs.cerebras.ai/
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, models.
-- Quirks: no embeddings.
local compat = require("openai_compatible")

return compat.provider {
  name = "Cerebras",
  base_url = "https://api.cerebras.ai/v1",
  endpoints = { "chat/completions", "completions", "models" },
}
