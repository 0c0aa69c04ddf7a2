-- providers/siliconflow.lua — SiliconFlow (OpenAI-compatible)
-- Docs: https://docs.siliconflow.cn/ (China) / https://docs.siliconflow.com/ (international)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, embeddings, models.
-- Quirks: keys are region-bound. Default is the China host (as Portkey); international
--   accounts set x-portkey-custom-host: https://api.siliconflow.com/v1. Rerank, images and
--   audio are SiliconFlow-specific paths, reachable as passthrough.
local compat = require("openai_compatible")

return compat.provider {
  name = "SiliconFlow",
  base_url = "https://api.siliconflow.cn/v1",
  endpoints = { "chat/completions", "embeddings", "models" },
}
