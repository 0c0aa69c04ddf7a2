-- providers/workers-ai.lua — Cloudflare Workers AI (OpenAI-compatible endpoints)
-- Docs: https://developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility
--   (base https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1; chat completions,
--   embeddings and responses with the OpenAI SDK; curl with Authorization: Bearer {api_token}).
-- Auth: Authorization: Bearer <Cloudflare API token>
-- Endpoints: chat/completions, embeddings, responses. Models are Workers AI ids such as
--   @cf/meta/llama-3.1-8b-instruct, @cf/baai/bge-large-en-v1.5, @cf/openai/gpt-oss-120b.
-- Setting (header form / config form, Portkey's name):
--   x-portkey-workers-ai-account-id / workers_ai_account_id — required unless x-portkey-custom-host:
--   the Cloudflare account id (32 hex characters) in the path. It chooses a path on Cloudflare's host,
--   not the host, so it is not a host setting.
-- Custom host: replaces the whole base, e.g. an AI Gateway URL
--   https://gateway.ai.cloudflare.com/v1/{account}/{gateway}/workers-ai/v1.
-- Portkey's stored code uses the native POST /ai/run/{model} API (translating to {result, success});
--   this provider uses the OpenAI-compatible /ai/v1 surface instead.
local compat = require("openai_compatible")

local provider = compat.provider {
  name = "Workers AI",
  base_url = "https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1",
  endpoints = { "chat/completions", "embeddings", "responses" },
  docs = "https://developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility",
  auth_scheme = "Authorization: Bearer <Cloudflare API token>",
  notes = "requires x-portkey-workers-ai-account-id (path); OpenAI-compatible /ai/v1 surface",
  url_setting = {
    provider = "workers-ai", name = "workers_ai_account_id",
    what = "a Cloudflare account id (32 hex characters)",
    base = function(account)
      if #account ~= 32 or not account:match("^%x+$") then return nil end
      return "https://api.cloudflare.com/client/v4/accounts/" .. account:lower() .. "/ai/v1"
    end,
  },
}

return provider
