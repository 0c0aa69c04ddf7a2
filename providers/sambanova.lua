-- providers/sambanova.lua — SambaNova Cloud (SambaCloud), OpenAI-compatible
-- Docs: https://docs.sambanova.ai/cloud/docs/get-started/overview
--       (API reference: chat completions, completions, embeddings, audio, models)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models.
-- Custom host: Portkey documents a custom host for SambaNova (e.g. a SambaStack deployment)
--   and appends /v1/chat/completions to it; here a host already ending in /v1 is used as is
--   and any other gets /v1 appended, so both forms work. Audio via passthrough.
local compat = require("openai_compatible")

return compat.provider {
  name = "SambaNova",
  base_url = "https://api.sambanova.ai/v1",
  custom_host_path = "/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
}
