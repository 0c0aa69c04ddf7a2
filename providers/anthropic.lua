-- Anthropic — Messages API (https://docs.anthropic.com/en/api/messages). Chat completions are
-- translated by lib/chat_to_anthropic.lua; /v1/messages passes through as sent.
-- Auth: x-api-key. Version: anthropic-version 2023-06-01, or x-portkey-anthropic-version.
-- Beta features: x-portkey-anthropic-beta is sent as anthropic-beta.
local compat = require("openai_compatible")
local claude = require("chat_to_anthropic")
local validate = require("validate")

local NAME = "Anthropic"
local spec = { name = NAME, base_url = "https://api.anthropic.com/v1" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { "chat/completions", "messages" },
  decode_body = true,
  response = claude.response,
  stream = claude.stream,
}

local function auth_headers(ctx)
  local headers = {
    ["x-api-key"] = ctx.api_key,
    ["anthropic-version"] = ctx.settings.anthropic_version or "2023-06-01",
  }
  if ctx.settings.anthropic_beta then headers["anthropic-beta"] = ctx.settings.anthropic_beta end
  return headers
end

function provider.prepare(ctx)
  compat.require_key({ name = NAME }, ctx)
  local url = compat.join_url(compat.base_url(spec, ctx), "/messages", "")
  if ctx.endpoint == "messages" then
    -- Anthropic's own dialect (/v1/messages from the Anthropic SDK): the bytes go through as sent,
    -- and the answer comes back untranslated.
    return { url = url, method = "POST", headers = auth_headers(ctx), translate = false }
  end
  return { url = url, method = "POST", headers = auth_headers(ctx), body = validate.encode(claude.request(ctx), ctx.body) }
end

return provider
