-- providers/cerebras.lua — Cerebras Inference (OpenAI-compatible)
-- Docs: https://inference-docs.cerebras.ai/
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, models.
--   No images, audio, rerank, moderations, files or batches in Cerebras' reference.
-- Quirks: no embeddings.
local compat = require("openai_compatible")

return compat.provider {
  name = "Cerebras",
  base_url = "https://api.cerebras.ai/v1",
  endpoints = { "chat/completions", "completions", "models" },
  docs = "https://inference-docs.cerebras.ai/api-reference/chat-completions",
  notes = "no embeddings, images, audio, files or batches",
}
