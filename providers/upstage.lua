-- providers/upstage.lua — Upstage Solar (OpenAI-compatible)
-- Docs: https://console.upstage.ai/api-keys (OpenAI SDK example: base_url https://api.upstage.ai/v1,
--   model solar-pro3, reasoning_effort); older API docs https://developers.upstage.ai/docs/apis/chat
--   and https://developers.upstage.ai/docs/apis/embeddings (then under /v1/solar)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, embeddings (models embedding-query / embedding-passage).
-- Quirks: Upstage's console now uses https://api.upstage.ai/v1; the older documentation (and
--   Portkey) used https://api.upstage.ai/v1/solar, which can still be set as x-portkey-custom-host.
-- Not verified: /v1/embeddings under the current base comes from client code (several independent
--   integrations POST https://api.upstage.ai/v1/embeddings with embedding-query/-passage); Upstage's
--   own current page for it was not read — its older page documents /v1/solar/embeddings. Document
--   Parse, OCR and other Upstage APIs are not OpenAI-shaped and are not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "Upstage",
  base_url = "https://api.upstage.ai/v1",
  endpoints = { "chat/completions", "embeddings" },
  docs = "https://console.upstage.ai/api-keys",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "older /v1/solar base (Portkey's) works as a custom host; /v1/embeddings seen in client code only",
}
