-- providers/lemonfox-ai.lua — Lemonfox.ai (OpenAI-compatible)
-- Docs: https://lemonfox.ai/whisper-api (POST https://api.lemonfox.ai/v1/audio/transcriptions,
--   Authorization: Bearer, multipart; `file` may also be a URL); API index https://www.lemonfox.ai/apis
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, images/generations, audio/transcriptions.
-- Quirks: transcription takes Lemonfox's `language` as a name ("english") as well as OpenAI's
--   fields; `file` may be a URL string instead of an upload.
-- Not verified: chat/completions and images/generations come from Portkey's Lemonfox integration
--   page (chat with llama-8b-chat, images with SDXL); Lemonfox's own pages for them were not read.
--   Text-to-speech (/v1/audio/speech) is offered by Lemonfox but its path was not read, so it is not
--   declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "Lemonfox.ai",
  base_url = "https://api.lemonfox.ai/v1",
  endpoints = { "chat/completions", "images/generations", "audio/transcriptions" },
  docs = "https://www.lemonfox.ai/apis",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "transcriptions verified; chat and images from Portkey's docs only",
}
