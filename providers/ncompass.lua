-- providers/ncompass.lua — nCompass (OpenAI-compatible inference)
-- Docs: https://docs.ncompass.tech/api-reference/images_and_vision (OpenAI SDK with
--   base_url="https://api.ncompass.tech/v1", chat.completions with text and image parts; the page
--   says the Responses API is not supported yet).
-- Auth: Authorization: Bearer <key> (the OpenAI SDK's api_key).
-- Endpoints: chat/completions only — the only endpoint the docs show.
-- Status: docs reachable (they name Llama 4 models), so the service looked live; not verified with
--   a key.
local compat = require("openai_compatible")

return compat.provider {
  name = "nCompass",
  base_url = "https://api.ncompass.tech/v1",
  endpoints = { "chat/completions" },
  docs = "https://docs.ncompass.tech/api-reference/images_and_vision",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "docs live; not verified with a key",
}
