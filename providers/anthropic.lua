-- Anthropic — Messages API (https://docs.anthropic.com/en/api/messages). Chat completions are
-- translated by lib/chat_to_anthropic.lua; /v1/messages passes through as sent.
-- Auth: x-api-key. Version: anthropic-version 2023-06-01, or x-portkey-anthropic-version.
-- Beta features: x-portkey-anthropic-beta is sent as anthropic-beta (a client's own anthropic-beta
-- header is forwarded too). Every other /v1 path (messages/count_tokens, messages/batches, files,
-- models) passes through untouched with the key.
local compat = require("openai_compatible")
local claude = require("chat_to_anthropic")
local validate = require("validate")
local upstream_errors = require("upstream_errors")

local NAME = "Anthropic"
local spec = { name = NAME, base_url = "https://api.anthropic.com/v1" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  -- files: Anthropic's Files API (beta, anthropic-beta: files-api-2025-04-14) at /v1/files, in
  -- its own shapes: passed through. /v1/messages/batches is under "*".
  endpoints = { ["chat/completions"] = "translate", messages = "native", ["messages/count_tokens"] = "passthrough",
                files = "passthrough", ["*"] = "passthrough" },
  decode_body = true,
  client_headers = { "anthropic-beta" },
  docs = "https://docs.anthropic.com/en/api/messages",
  auth_scheme = "x-api-key: <key> (sent as Authorization: Bearer <key> by the client)",
  notes = "anthropic-version 2023-06-01 (x-portkey-anthropic-version); Files API needs anthropic-beta files-api-2025-04-14",
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

-- Passthrough paths: the base URL (with /v1) and the key.
function provider.auth(ctx)
  compat.require_key({ name = NAME }, ctx)
  return compat.base_url(spec, ctx), auth_headers(ctx)
end

function provider.prepare(ctx)
  compat.require_key({ name = NAME }, ctx)
  local url = compat.join_url(compat.base_url(spec, ctx), "/messages", "")
  if ctx.endpoint == "messages" then
    -- Anthropic's own dialect (/v1/messages from the Anthropic SDK): the bytes go through as sent,
    -- and the answer comes back untranslated (endpoints: native).
    return { url = url, method = "POST", headers = auth_headers(ctx) }
  end
  return { url = url, method = "POST", headers = auth_headers(ctx), body = validate.encode(claude.request(ctx), ctx.body) }
end

-- Overloaded (529) and rate-limited answers are worth another try.
function provider.error(ctx, res) return upstream_errors.anthropic(res) end

return provider
