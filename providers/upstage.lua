-- providers/upstage.lua — Upstage Solar (OpenAI-compatible)
-- Docs: https://console.upstage.ai/api-keys (OpenAI SDK example: base_url https://api.upstage.ai/v1,
--   model solar-pro3, reasoning_effort); older API docs https://developers.upstage.ai/docs/apis/chat
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions.
-- Quirks: Upstage's console now uses https://api.upstage.ai/v1; the older documentation (and
--   Portkey) used https://api.upstage.ai/v1/solar, which can still be set as x-portkey-custom-host.
-- Not verified: embeddings. Upstage documented them only at the old
--   https://api.upstage.ai/v1/solar/embeddings (solar-embedding-1-large-query/-passage); whether
--   /v1/embeddings exists under the current base could not be read, so embeddings are not declared
--   (refused with 400) rather than sent to a path that may not exist.
local compat = require("openai_compatible")

return compat.provider {
  name = "Upstage",
  base_url = "https://api.upstage.ai/v1",
  endpoints = { "chat/completions" },
  docs = "https://console.upstage.ai/api-keys",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "older /v1/solar base (Portkey's) works as a custom host; embeddings not verified at /v1",
}
