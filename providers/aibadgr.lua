-- providers/aibadgr.lua — AI Badgr (OpenAI-compatible gateway / managed models)
-- Docs: https://www.aibadgr.com/docs (OpenAI SDK with base_url="https://aibadgr.com/v1",
--   curl https://aibadgr.com/v1/chat/completions with Authorization: Bearer <key>; says embeddings
--   work unchanged). Portkey and LiteLLM use https://aibadgr.com/api/v1; AI Badgr's own docs show
--   /v1, which is used here.
-- Auth: Authorization: Bearer <key> (a Badgr key, or in its proxy mode an OpenAI key).
-- Endpoints: chat/completions, embeddings. AI Badgr also has Claude-compatible and receipt endpoints
--   whose paths its docs page did not show; they go through "*" (receipts) or the chat converter
--   (/v1/messages).
-- Answers carry X-Badgr-Receipt-Id / X-AIBADGR-Receipt-URL headers.
-- Not verified: live behaviour with a key; which of /v1 and /api/v1 is canonical.
local compat = require("openai_compatible")

return compat.provider {
  name = "AI Badgr",
  base_url = "https://aibadgr.com/v1",
  endpoints = { "chat/completions", "embeddings" },
  docs = "https://www.aibadgr.com/docs",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "docs live; base per its docs (/v1; Portkey uses /api/v1); not verified with a key",
}
