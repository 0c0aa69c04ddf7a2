-- providers/openrouter.lua — OpenRouter (OpenAI-compatible router)
-- Docs: https://openrouter.ai/docs/api-reference/overview
-- Auth: Authorization: Bearer <key>   (sk-or-...)
-- Endpoints: chat/completions, completions, embeddings, models.
--   No images, audio, rerank, moderations, files or batches endpoints in OpenRouter's reference.
-- Quirks: the optional HTTP-Referer / X-Title attribution headers are not added (Portkey adds
--   its own); they are not required. Model ids are "<vendor>/<model>".
local compat = require("openai_compatible")

return compat.provider {
  name = "OpenRouter",
  base_url = "https://openrouter.ai/api/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
  docs = "https://openrouter.ai/docs/api-reference/overview",
  notes = "model ids are <vendor>/<model>; no images/audio/rerank endpoints (image output comes through chat)",
}
