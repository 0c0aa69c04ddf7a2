-- providers/reka-ai.lua — Reka (OpenAI-compatible API)
-- Docs: https://docs.reka.ai/chat/api-reference/llms.txt (API Reference: Create Chat Completion,
--   List Models; "One OpenAI-compatible API"), https://docs.reka.ai/chat/models.md (base URL
--   https://api.reka.ai/v1 with the OpenAI SDK).
-- Auth: Authorization: Bearer <key> (what the OpenAI SDK sends, as in Reka's SDK example; Reka's
--   raw HTTP examples also show X-Api-Key).
-- Endpoints: chat/completions, models — the two the API reference lists. LiteLLM also routes
--   /responses and /messages to Reka; Reka's own reference does not document them, so they are
--   not declared (/v1/messages and /v1/responses reach Reka through the chat converters).
-- Portkey's stored code still calls the legacy native POST https://api.reka.ai/chat with x-api-key;
--   that API is not used here.
local compat = require("openai_compatible")

return compat.provider {
  name = "Reka",
  base_url = "https://api.reka.ai/v1",
  endpoints = { "chat/completions", "models" },
  docs = "https://docs.reka.ai/chat/api-reference/llms.txt",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "OpenAI-compatible API; legacy native /chat API not used",
}
