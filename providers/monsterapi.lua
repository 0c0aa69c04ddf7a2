-- providers/monsterapi.lua — MonsterAPI (OpenAI-compatible LLM route)
-- Docs: https://developer.monsterapi.ai/reference/create_chat_completion_v1_chat_completions_post
--   (POST https://llm.monsterapi.ai/v1/chat/completions, "behaves same as openAI route")
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions.
-- Quirks: MonsterAPI's other generative APIs (https://api.monsterapi.ai/v1/generate/<model>) are
--   asynchronous (process_id + fetch) and not OpenAI-shaped; not declared.
-- Not verified: whether the service is still running — the reference page is readable, but no
--   recent activity could be confirmed. Kept for Portkey id parity.
local compat = require("openai_compatible")

return compat.provider {
  name = "MonsterAPI",
  base_url = "https://llm.monsterapi.ai/v1",
  endpoints = { "chat/completions" },
  docs = "https://developer.monsterapi.ai/reference/create_chat_completion_v1_chat_completions_post",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "status doubtful: service activity not verified; kept for Portkey id parity",
}
