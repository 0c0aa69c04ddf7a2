-- providers/ai21.lua — AI21 Labs (Jamba), OpenAI-compatible chat
-- Docs: https://docs.ai21.com/reference/jamba-1-6-api-ref (Chat request: POST /studio/v1/chat/completions,
--   Authorization: Bearer <key>, OpenAI-shaped request/response, SSE ending with data: [DONE]).
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions only (the reference documents no models, embeddings or completions
--   endpoint at this base). The legacy Jurassic /j2-*/complete and /embed APIs that older Portkey
--   versions mapped are not served.
-- Not verified: live behaviour (no key used).
local compat = require("openai_compatible")

return compat.provider {
  name = "AI21 Labs",
  base_url = "https://api.ai21.com/studio/v1",
  endpoints = { "chat/completions" },
  docs = "https://docs.ai21.com/reference/jamba-1-6-api-ref",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "Jamba models (jamba-large, jamba-mini); legacy Jurassic endpoints not served",
}
