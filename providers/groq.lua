-- providers/groq.lua — Groq (OpenAI-compatible)
-- Docs: https://console.groq.com/docs/openai
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, models, responses, audio/transcriptions, audio/translations,
--   audio/speech (https://console.groq.com/docs/speech-to-text, /text-to-speech).
-- Quirks: no legacy /completions and no embeddings. /v1/responses is Groq's own (native). Groq returns 400 for
--   logprobs, logit_bias, top_logprobs, messages[].name and n != 1.
local compat = require("openai_compatible")

return compat.provider {
  name = "Groq",
  base_url = "https://api.groq.com/openai/v1",
  docs = "https://console.groq.com/docs/openai",
  notes = "no legacy completions, no embeddings; 400 for logprobs, logit_bias, n != 1",
  endpoints = { "chat/completions", "models", "responses", "audio/transcriptions", "audio/translations", "audio/speech" },
}
