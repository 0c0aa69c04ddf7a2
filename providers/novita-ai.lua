-- providers/novita-ai.lua — Novita AI (OpenAI-compatible LLM API)
-- Docs: https://novita.ai/docs/api-reference/model-apis-llm-create-chat-completion
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Quirks: Novita's current API reference uses https://api.novita.ai/openai/v1/...; the older
--   base https://api.novita.ai/v3/openai (Portkey's value) is still documented in the LLM guide
--   and can be set via x-portkey-custom-host.
local compat = require("openai_compatible")

return compat.provider {
  name = "Novita AI",
  base_url = "https://api.novita.ai/openai/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}
