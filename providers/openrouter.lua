-- providers/openrouter.lua — OpenRouter (OpenAI-compatible router)
-- Docs: https://openrouter.ai/docs/api-reference/overview
-- Auth: Authorization: Bearer <key>   (sk-or-...)
-- Endpoints: chat/completions, completions, embeddings, models.
-- Quirks: the optional HTTP-Referer / X-Title attribution headers are not added (Portkey adds
--   its own); they are not required. Model ids are "<vendor>/<model>".
local compat = require("openai_compatible")

return compat.provider {
  name = "OpenRouter",
  base_url = "https://openrouter.ai/api/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}
