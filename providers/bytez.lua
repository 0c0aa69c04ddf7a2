-- providers/bytez.lua — Bytez (OpenAI-compatible endpoints of the Bytez model API)
-- Docs: https://docs.bytez.com/http-reference/oaiCompliant/chatCompletions and the docs' source
--   (github.com/Bytez-com/docs: docs/http-reference/oaiCompliant/openapi.yaml,
--   docs/http-reference/examples/openai-compliant/{chatCompletions,completions,responses}Example.mdx).
-- Auth: Authorization: <key> — the raw key, no scheme. Bytez's OpenAI-compatible examples send
--   `-H 'Authorization: BYTEZ_KEY'` and set default_headers={"Authorization": "BYTEZ_KEY"} on the
--   OpenAI SDK (overriding its "Bearer"). Bytez's closed-source native page says "Key <key>" and
--   Portkey sends `Key <key>` to the native API; this provider follows the OpenAI-compatible pages.
-- Endpoints: chat/completions, completions, responses under
--   https://api.bytez.com/models/v2/openai/v1. Models are Hugging Face ids (Qwen/Qwen3-4B) or
--   provider/model for closed models (openai/gpt-4o).
-- Headers: provider-key (the closed-model provider's own key; required for anthropic and cohere
--   models) is passed on from the client when sent.
-- Portkey's stored Bytez provider uses the native POST /models/v2/{model} API ({messages, params} in,
--   {error, output} out); this provider uses the OpenAI-compatible surface instead.
local compat = require("openai_compatible")

return compat.provider {
  name = "Bytez",
  base_url = "https://api.bytez.com/models/v2/openai/v1",
  auth_header = "authorization",
  auth_prefix = "",
  endpoints = { "chat/completions", "completions", "responses" },
  client_headers = { "provider-key" },
  docs = "https://docs.bytez.com/http-reference/oaiCompliant/chatCompletions",
  auth_scheme = "Authorization: <key> (raw key, no scheme)",
  notes = "OpenAI-compatible surface; provider-key header passed on for closed models",
}
