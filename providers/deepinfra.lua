-- providers/deepinfra.lua — DeepInfra (OpenAI-compatible API)
-- Docs: https://deepinfra.com/docs/openai_api
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Quirks: the OpenAI-compatible surface lives under /v1/openai (not /v1); DeepInfra's native
--   inference API (/v1/inference/<model>) is not under this base.
local compat = require("openai_compatible")

return compat.provider {
  name = "DeepInfra",
  base_url = "https://api.deepinfra.com/v1/openai",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}
