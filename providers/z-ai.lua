-- providers/z-ai.lua — Z.AI (international Zhipu platform; OpenAI-compatible)
-- Docs: https://docs.z.ai/api-reference/introduction (base URL, Bearer auth);
--   https://docs.z.ai/api-reference/llm/chat-completion ; https://docs.z.ai/api-reference/image/generate-image ;
--   https://docs.z.ai/api-reference/audio/audio-transcriptions
-- Auth: Authorization: Bearer <key> (Z.AI also accepts a JWT signed from an "id.secret" key; a
--   pre-minted JWT works as the key too).
-- Endpoints: chat/completions, images/generations (glm-image, cogview-4; answers data[].url plus
--   content_filter), audio/transcriptions (multipart, glm-asr).
-- Quirks: no /v1 — the API lives under /api/paas/v4, so /v1/chat/completions goes to
--   https://api.z.ai/api/paas/v4/chat/completions. Chat answers carry Z.AI's extra request_id,
--   reasoning_content and web_search fields (relayed as they are). The GLM Coding Plan uses
--   https://api.z.ai/api/coding/paas/v4 (set it as x-portkey-custom-host). Z.AI's examples send an
--   optional Accept-Language header; not added here.
-- Not verified: embeddings, files, models and moderations on api.z.ai (third-party pages list some;
--   Z.AI's own reference pages were not found), so they are not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "Z.AI",
  base_url = "https://api.z.ai/api/paas/v4",
  endpoints = { "chat/completions", "images/generations", "audio/transcriptions" },
  docs = "https://docs.z.ai/api-reference/introduction",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "path prefix /api/paas/v4 (no /v1); Coding Plan: custom host https://api.z.ai/api/coding/paas/v4",
}
