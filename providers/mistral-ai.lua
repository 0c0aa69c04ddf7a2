-- providers/mistral-ai.lua — Mistral AI (La Plateforme), OpenAI-compatible
-- Docs: https://docs.mistral.ai/api/
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, embeddings, models, audio/transcriptions (multipart file + model,
--   answers {model, text, language, usage}: https://docs.mistral.ai/api/endpoint/audio/transcriptions),
--   files (https://docs.mistral.ai/api/endpoint/files: multipart file + purpose, OpenAI-style File
--   object; list, retrieve, delete, content).
-- Not listed: moderations — Mistral's /v1/moderations is NOT OpenAI-shaped (its own category
--   set, e.g. hate_and_discrimination, pii: https://docs.mistral.ai/api/endpoint/classifiers), so
--   /v1/moderations is refused (400 unsupported_endpoint) rather than answering a client of OpenAI's
--   endpoint in a shape it cannot read; batches — Mistral's batch API is /v1/batch/jobs, its own
--   shape, reachable through "*" under that path; audio/speech — Mistral's /v1/audio/speech answers
--   JSON {"audio_data": "<base64>"} (https://docs.mistral.ai/api/endpoint/audio/speech), not
--   OpenAI's audio bytes, so it is refused rather than relayed to an OpenAI client.
-- Quirks: no legacy /completions; fill-in-the-middle (Codestral) lives at
--   /v1/fim/completions and is reachable as passthrough (client calls /v1/fim/completions).
--   Mistral rejects some OpenAI-only fields (e.g. logit_bias); bodies pass through unchanged.
local compat = require("openai_compatible")

return compat.provider {
  name = "Mistral AI",
  semconv_name = "mistral_ai",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  base_url = "https://api.mistral.ai/v1",
  endpoints = { "chat/completions", "embeddings", "models", "audio/transcriptions", "files" },
  docs = "https://docs.mistral.ai/api/",
  notes = "moderations not listed (not OpenAI-shaped); FIM at /v1/fim/completions through \"*\"",
}
