-- providers/lmstudio.lua — LM Studio (local server; OpenAI-compatible API under /v1)
-- Docs: https://lmstudio.ai/docs/api/openai-api
-- Auth: none by default; with "Require Authentication" on, the client's key is forwarded
--   as Authorization: Bearer <LM Studio API token>.
-- Endpoints: chat/completions, completions, embeddings, models, responses (LM Studio's own
--   /v1/responses, served natively).
--   No images, audio, rerank, moderations, files or batches in LM Studio's OpenAI-compatible API.
-- Base URL: http://localhost:1234/v1 (LM Studio's default port 1234).
-- Custom host: a host ending in /v1 is used as is, any other gets /v1 appended, so
--   x-portkey-custom-host: http://gpu-box:1234 and http://gpu-box:1234/v1 both work.
-- Quirks: Portkey's gateway has no separate LM Studio id (its users point the openai
--   provider at LM Studio). Passthrough paths starting with /api/ go to the server root, so
--   LM Studio's native REST API is reachable: /v1/api/v1/models -> http://localhost:1234/api/v1/models.
local compat = require("openai_compatible")

return compat.provider {
  name = "LM Studio",
  base_url = "http://localhost:1234/v1",
  requires_key = false,
  custom_host_path = "/v1",
  root_passthrough = "/api/",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "responses" },
  docs = "https://lmstudio.ai/docs/api/openai-api",
  auth_scheme = "none (Authorization: Bearer <token> when the server requires authentication)",
  notes = "local server (default http://localhost:1234/v1); /v1/api/... goes to its native REST API",
}
