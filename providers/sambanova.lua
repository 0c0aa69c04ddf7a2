-- providers/sambanova.lua — SambaNova Cloud (SambaCloud), OpenAI-compatible
-- Docs: https://docs.sambanova.ai/cloud/docs/get-started/overview
--       (API reference: chat completions, completions, embeddings, audio, models)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Custom host: Portkey documents a custom host for SambaNova (e.g. a SambaStack deployment)
--   and appends /v1/chat/completions to it; here a host already ending in /v1 is used as is
--   and any other gets /v1 appended, so both forms work. Audio via passthrough.
local compat = require("openai_compatible")

local provider = compat.provider {
  name = "SambaNova",
  base_url = "https://api.sambanova.ai/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}

local function with_v1(host)
  local base = host:gsub("/+$", "")
  if base:sub(-3) ~= "/v1" then
    base = base .. "/v1"
  end
  return base
end

local default_prepare = provider.prepare

function provider.prepare(ctx)
  local req = default_prepare(ctx)
  if ctx.custom_host then
    req.url = compat.join_url(with_v1(ctx.custom_host), ctx.path, ctx.query)
  end
  return req
end

return provider
