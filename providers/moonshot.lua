-- providers/moonshot.lua — Moonshot AI (Kimi API), OpenAI-compatible
-- Docs: https://platform.moonshot.ai/docs (global) / https://platform.moonshot.cn/docs (China)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, models, responses, files (multipart file + purpose file-extract /
--   image / video / batch: https://platform.moonshot.ai/docs/api/files), batches (OpenAI's Batch
--   object: https://platform.kimi.ai/docs/api/batch-create).
-- Quirks: keys are region-bound. Default is the China host (as Portkey); global-platform keys
--   set x-portkey-custom-host: https://api.moonshot.ai/v1. /v1/responses is Moonshot's own
--   (native). No embeddings, no legacy /completions, no images/audio/rerank/moderations.
local compat = require("openai_compatible")

return compat.provider {
  name = "Moonshot AI",
  base_url = "https://api.moonshot.cn/v1",
  endpoints = { "chat/completions", "models", "responses", "files", "batches" },
  docs = "https://platform.moonshot.ai/docs/api/chat",
  notes = "China host by default; global keys: custom host https://api.moonshot.ai/v1",
}
