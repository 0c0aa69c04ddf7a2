-- providers/ollama.lua — Ollama (local server; OpenAI-compatible API under /v1)
-- Docs: https://docs.ollama.com/api/openai-compatibility
-- Auth: none needed locally; if the client sends a key it is forwarded as
--   Authorization: Bearer <key> (Ollama ignores it; ollama.com's cloud API needs it).
-- Endpoints: chat/completions, completions, embeddings, models, images/generations (experimental in
--   Ollama: "/v1/images/generations (experimental)" in docs/api/openai-compatibility.mdx since
--   2026-01, e.g. model x/z-image-turbo, size, response_format b64_json). No audio, rerank,
--   moderations, files or batches.
-- Base URL: http://localhost:11434/v1 — Ollama serves its OpenAI-compatible API under /v1
--   and its native API under /api.
-- Custom host: Portkey users write the server root, e.g.
--   x-portkey-custom-host: http://localhost:11434 ; a host that already ends in /v1 is used
--   as is, any other gets /v1 appended. So both http://gpu-box:11434 and
--   http://gpu-box:11434/v1 work.
-- Quirk: passthrough paths starting with /api/ go to the server root, so the native API is
--   reachable through the gateway: /v1/api/tags -> http://localhost:11434/api/tags.
local compat = require("openai_compatible")

return compat.provider {
  name = "Ollama",
  base_url = "http://localhost:11434/v1",
  requires_key = false,
  custom_host_path = "/v1",
  root_passthrough = "/api/",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "images/generations" },
  docs = "https://docs.ollama.com/api/openai-compatibility",
  auth_scheme = "none (a client key is sent on as Authorization: Bearer <key>)",
  notes = "local server (default http://localhost:11434/v1); /v1/api/... goes to the native API",
}
