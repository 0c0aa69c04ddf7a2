-- providers/perplexity-ai.lua — Perplexity (Sonar API, OpenAI-compatible chat)
-- Docs: https://docs.perplexity.ai/docs/sonar/openai-compatibility
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions only.
--   No images, audio, rerank, moderations, files or batches.
-- Quirks: base URL has no version path (chat is https://api.perplexity.ai/chat/completions).
--   No /models endpoint. Responses carry extra fields (citations, search_results). Perplexity's
--   other APIs (e.g. /search) are reachable as passthrough (client calls /v1/search).
local compat = require("openai_compatible")

return compat.provider {
  name = "Perplexity AI",
  semconv_name = "perplexity",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  base_url = "https://api.perplexity.ai",
  endpoints = { "chat/completions" },
  docs = "https://docs.perplexity.ai/docs/sonar/openai-compatibility",
  notes = "base URL has no /v1; no models endpoint; answers carry citations/search_results",
}
