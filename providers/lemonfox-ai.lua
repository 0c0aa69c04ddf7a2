-- providers/lemonfox-ai.lua — Lemonfox.ai (OpenAI-compatible)
-- Docs: https://lemonfox.ai/whisper-api (POST https://api.lemonfox.ai/v1/audio/transcriptions,
--   Authorization: Bearer, multipart; `file` may also be a URL);
--   https://lemonfox.ai/apis/text-to-speech (POST https://api.lemonfox.ai/v1/audio/speech, OpenAI-
--   and ElevenLabs-compatible, answers the audio file); API index https://www.lemonfox.ai/apis
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, images/generations, audio/transcriptions, audio/speech.
-- Quirks: transcription takes Lemonfox's `language` as a name ("english") as well as OpenAI's
--   fields; `file` may be a URL string instead of an upload. Speech takes Lemonfox's own voices
--   ("sarah", …; 50+ voices, 8 languages) and needs no `model`; the audio bytes are relayed as they come.
-- Not verified: chat/completions and images/generations come from Portkey's Lemonfox integration
--   page (chat with llama-8b-chat, images with SDXL); Lemonfox's own pages for them were not read.
local compat = require("openai_compatible")

return compat.provider {
  name = "Lemonfox.ai",
  base_url = "https://api.lemonfox.ai/v1",
  endpoints = { "chat/completions", "images/generations", "audio/transcriptions", "audio/speech" },
  docs = "https://www.lemonfox.ai/apis",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "speech and transcriptions verified on lemonfox.ai; chat and images from Portkey's docs only",
}
