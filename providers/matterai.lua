-- providers/matterai.lua — MatterAI (Axon models, OpenAI-compatible)
-- Docs: https://docs.matterai.so/api-reference/endpoint/completions (POST
--   https://api.matterai.so/v1/chat/completions, Authorization: Bearer <key>, OpenAI-shaped
--   answer and SSE stream), https://docs.matterai.so/api-reference/endpoint/models (GET /v1/models).
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, models. MatterAI's Anthropic-compatible /v1/messages lives on another
--   host (https://api2.matterai.so), so it is not declared here; /v1/messages reaches MatterAI through
--   the chat converter. Portkey also maps embeddings; MatterAI's reference documents none, so it is
--   not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "MatterAI",
  base_url = "https://api.matterai.so/v1",
  endpoints = { "chat/completions", "models" },
  docs = "https://docs.matterai.so/api-reference/endpoint/completions",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "Axon models; docs live; Anthropic-style /messages (other host) not used",
}
