-- providers/sambanova.lua — SambaNova Cloud (SambaCloud), OpenAI-compatible
-- Docs: https://docs.sambanova.ai/cloud/docs/get-started/overview
--       (API reference: chat completions, completions, embeddings, audio, models)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models, audio/transcriptions,
--   audio/translations (multipart, Whisper-Large-v3, answers {text}:
--   https://docs.sambanova.ai/docs/api-reference/audio/transcribes-audio-into-the-input-language,
--   .../translate-audio-into-english). SambaNova's audio guide says Whisper is available on
--   SambaStack only, not SambaCloud: the audio endpoints are for a custom host.
-- Custom host: Portkey documents a custom host for SambaNova (e.g. a SambaStack deployment)
--   and appends /v1/chat/completions to it; here a host already ending in /v1 is used as is
--   and any other gets /v1 appended, so both forms work.
local compat = require("openai_compatible")

return compat.provider {
  name = "SambaNova",
  base_url = "https://api.sambanova.ai/v1",
  custom_host_path = "/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "audio/transcriptions",
    "audio/translations" },
  docs = "https://docs.sambanova.ai/docs/api-reference",
  notes = "audio (Whisper) on SambaStack deployments only (custom host)",
}
