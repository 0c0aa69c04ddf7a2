-- providers/nscale.lua — Nscale serverless inference (OpenAI-compatible)
-- Docs: https://docs.nscale.com/api-reference/inferencing/create-chat-completion ;
--   https://docs.nscale.com/api-reference/inferencing/create-chat-embedding ;
--   https://docs.nscale.com/api-reference/inferencing/create-image
-- Auth: Authorization: Bearer <service token>
-- Endpoints: chat/completions, embeddings, images/generations (FLUX etc.; answers data[].b64_json).
-- Quirks: Nscale documents 201 (not 200) for a successful streamed chat answer.
-- Not verified: a models list endpoint (not found in the reference), so not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "Nscale",
  base_url = "https://inference.api.nscale.com/v1",
  endpoints = { "chat/completions", "embeddings", "images/generations" },
  docs = "https://docs.nscale.com/api-reference/inferencing/create-chat-completion",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "images answer b64_json",
}
