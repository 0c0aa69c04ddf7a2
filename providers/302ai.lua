-- providers/302ai.lua — 302.AI (OpenAI-compatible aggregator)
-- Docs: https://302ai-en.apifox.cn/258254135e0 (302.AI's own apifox reference: POST
--   https://api.302.ai/v1/chat/completions, Authorization: Bearer sk-…)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions.
-- Quirks: 302.AI routes to many vendors' models under one key; it adds tool calling to models that
--   lack it (prompt-based, per its reference).
-- Not verified: 302.AI's many other routes (images, audio, embeddings, vendor-native paths) — not
--   read in its reference, so not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "302.AI",
  base_url = "https://api.302.ai/v1",
  endpoints = { "chat/completions" },
  docs = "https://302ai-en.apifox.cn",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "aggregator; only chat verified",
}
