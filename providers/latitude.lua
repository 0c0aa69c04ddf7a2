-- providers/latitude.lua — Latitude.sh AI inference (OpenAI-compatible)
-- Docs: no API reference page of Latitude.sh was found. Sources: Portkey's provider
--   (https://api.lsh.ai + /v1/chat/completions, Bearer), and Hugging Face's inference-provider
--   clients (huggingface.js / huggingface_hub "latitude-sh": conversational -> /v1/chat/completions,
--   text-generation -> /v1/completions on https://api.lsh.ai); Hugging Face's provider docs PR
--   (huggingface/hub-docs#2180, 2026-01) describes it as an OpenAI-compatible API.
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions.
-- Status: live as a Hugging Face inference provider in 2026; not verified with a key.
local compat = require("openai_compatible")

return compat.provider {
  name = "Latitude.sh",
  base_url = "https://api.lsh.ai/v1",
  endpoints = { "chat/completions", "completions" },
  docs = "https://github.com/huggingface/hub-docs/pull/2180",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "no own API reference found; URL from Portkey and Hugging Face's clients; not verified live",
}
