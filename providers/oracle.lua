-- providers/oracle.lua — OCI Generative AI, OpenAI-compatible endpoint
-- Docs: https://docs.oracle.com/en-us/iaas/Content/generative-ai/openai-compatible-api.htm (base
--   https://inference.generativeai.${region}.oci.oraclecloud.com/openai/v1; paths /responses,
--   /conversations, /containers, /files, ...), .../chat-completions-api.htm (/chat/completions, API
--   key or IAM session), .../api-keys.htm (Generative AI API keys in the Authorization header; a key
--   works only in its own region).
-- Auth: Authorization: Bearer <OCI Generative AI API key>
-- Endpoints: chat/completions, responses, files. Conversations, containers and vector stores go through
--   "*" unchanged.
-- Setting (header form / config form, Portkey's name):
--   x-portkey-oracle-region / oracle_region — required unless x-portkey-custom-host; an OCI region id
--   such as us-chicago-1 or eu-frankfurt-1. It decides the HOST, so it is a host setting.
-- Not supported: OCI's native Generative AI API (POST /20231130/actions/chat, which Portkey uses),
--   because it needs OCI request signing (RSA-SHA256 HTTP signatures) that the script host does not
--   offer; and IAM-session auth. Regions of the EU sovereign cloud (oraclecloud.eu) need a custom host.
local compat = require("openai_compatible")

local provider = compat.provider {
  name = "OCI Generative AI",
  base_url = "https://inference.generativeai.{region}.oci.oraclecloud.com/openai/v1",
  endpoints = { "chat/completions", "responses", "files" },
  host_settings = { "oracle_region" },
  docs = "https://docs.oracle.com/en-us/iaas/Content/generative-ai/openai-compatible-api.htm",
  auth_scheme = "Authorization: Bearer <OCI Generative AI API key>",
  notes = "requires x-portkey-oracle-region (host); OpenAI-compatible endpoint only: the native API needs OCI RSA request signing, which the host does not offer",
  url_setting = {
    provider = "oracle", name = "oracle_region", what = "an OCI region id such as us-chicago-1",
    base = function(region)
      if #region > 40 or not region:match("^%l+%-%l+%-%d+$") then return nil end
      return "https://inference.generativeai." .. region .. ".oci.oraclecloud.com/openai/v1"
    end,
  },
}

return provider
