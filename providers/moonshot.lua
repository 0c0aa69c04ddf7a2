-- providers/moonshot.lua — Moonshot AI (Kimi API), OpenAI-compatible
-- Docs: https://platform.moonshot.ai/docs (global) / https://platform.moonshot.cn/docs (China)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, models.
-- Quirks: keys are region-bound. Default is the China host (as Portkey); global-platform keys
--   set x-portkey-custom-host: https://api.moonshot.ai/v1. Files and batches are reachable as
--   passthrough; /v1/responses is Moonshot's own (native). No embeddings, no legacy /completions.
local compat = require("openai_compatible")

return compat.provider {
  name = "Moonshot AI",
  base_url = "https://api.moonshot.cn/v1",
  endpoints = { "chat/completions", "models", "responses" },
}
