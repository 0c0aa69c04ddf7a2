-- providers/ollama.lua — Ollama (local server; OpenAI-compatible API under /v1)
-- Docs: https://docs.ollama.com/api/openai-compatibility
-- Auth: none needed locally; if the client sends a key it is forwarded as
--   Authorization: Bearer <key> (Ollama ignores it; ollama.com's cloud API needs it).
-- Endpoints: chat/completions, completions, embeddings, models.
-- Base URL: http://localhost:11434/v1 — Ollama serves its OpenAI-compatible API under /v1
--   and its native API under /api.
-- Custom host: Portkey users write the server root, e.g.
--   x-portkey-custom-host: http://localhost:11434 ; a host that already ends in /v1 is used
--   as is, any other gets /v1 appended. So both http://gpu-box:11434 and
--   http://gpu-box:11434/v1 work.
-- Quirk: passthrough paths starting with /api/ go to the server root, so the native API is
--   reachable through the gateway: /v1/api/tags -> http://localhost:11434/api/tags.
local compat = require("openai_compatible")

local DEFAULT_ROOT = "http://localhost:11434"

local provider = compat.provider {
  name = "Ollama",
  base_url = DEFAULT_ROOT .. "/v1",
  requires_key = false,
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}

-- Server root: the host without trailing slashes and without a trailing /v1.
local function server_root(host)
  local root = host:gsub("/+$", "")
  root = root:gsub("/v1$", "")
  return root
end

local default_prepare = provider.prepare

function provider.prepare(ctx)
  local req = default_prepare(ctx)
  local root = server_root(ctx.custom_host or DEFAULT_ROOT)
  local base = root .. "/v1"
  if ctx.endpoint == "passthrough" and ctx.path:sub(1, 5) == "/api/" then
    base = root
  end
  req.url = compat.join_url(base, ctx.path, ctx.query)
  return req
end

return provider
