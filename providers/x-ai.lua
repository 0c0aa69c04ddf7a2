-- providers/x-ai.lua — xAI (Grok), OpenAI-compatible
-- Docs: https://docs.x.ai/docs/api-reference
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions (legacy), embeddings, models.
-- Quirks: xAI marks chat completions and /completions as legacy in favour of the Responses API
--   (/v1/responses, served natively); reasoning models do not support /completions.
local compat = require("openai_compatible")

return compat.provider {
  name = "xAI",
  semconv_name = "x_ai",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  base_url = "https://api.x.ai/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "responses" },
}
