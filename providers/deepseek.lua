-- providers/deepseek.lua — DeepSeek (OpenAI-compatible)
-- Docs: https://api-docs.deepseek.com/
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, models.
--   No images, audio, rerank, moderations, files or batches in DeepSeek's reference.
-- Quirks: DeepSeek's documented base URL is https://api.deepseek.com with no version path
--   (https://api.deepseek.com/v1 is accepted too; the "v1" is unrelated to model versions).
--   We use the bare host so beta features are reachable as passthrough: the FIM completion
--   API is /beta/completions, i.e. a client calls /v1/beta/completions. There is no
--   /completions on the main path, so "completions" is not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "DeepSeek",
  base_url = "https://api.deepseek.com",
  endpoints = { "chat/completions", "models" },
  docs = "https://api-docs.deepseek.com/",
  notes = "base URL has no /v1; FIM at /v1/beta/completions through \"*\"",
}
