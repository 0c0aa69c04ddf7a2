-- providers/krutrim.lua — Ola Krutrim Cloud (OpenAI-compatible model APIs)
-- Docs: https://docs.cloud.olakrutrim.com/basics/key-management-system/model-api-keys (curl
--   https://cloud.olakrutrim.com/v1/chat/completions -H "Authorization: Bearer …", as quoted by a
--   third-party comparison; the page itself was not read); SDK https://github.com/ola-krutrim/krutrim-cloud-python
-- Auth: Authorization: Bearer <model API key> (keys are created in Krutrim's KMS, scoped to models)
-- Endpoints: chat/completions.
-- Quirks: Krutrim's Indic speech/translation APIs (Bhashik) are not OpenAI-shaped and are not
--   declared.
-- Not verified: Krutrim's own reference pages; the official SDK's last release is 2025-03.
local compat = require("openai_compatible")

return compat.provider {
  name = "Krutrim",
  base_url = "https://cloud.olakrutrim.com/v1",
  endpoints = { "chat/completions" },
  docs = "https://docs.cloud.olakrutrim.com",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "not verified live; reference read only as quoted by third parties",
}
