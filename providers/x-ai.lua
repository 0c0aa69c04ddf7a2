-- providers/x-ai.lua — xAI (Grok), OpenAI-compatible
-- Docs: https://docs.x.ai/docs/api-reference
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions (legacy), embeddings, models, responses,
--   images/generations (https://docs.x.ai/developers/model-capabilities/images), files
--   (https://docs.x.ai/developers/rest-api-reference/files/upload: multipart file + purpose,
--   OpenAI's File object; list, retrieve, content, delete under /v1/files).
-- Not listed: images/edits — xAI's edit endpoint takes a JSON body (image by URL / base64), not
--   OpenAI's multipart form, which the gateway requires there; batches — xAI's batch API has its
--   own request shape; text to speech is xAI's own POST /v1/tts (text, voice_id, language,
--   output_format object: https://docs.x.ai/developers/rest-api-reference/inference/voice), not
--   OpenAI's /audio/speech, and reachable through "*" under that path; xAI's realtime voice API
--   (wss://api.x.ai/v1/realtime) is not wired here (the realtime proxy is openai/azure-openai's);
--   no rerank or moderations endpoints.
-- Quirks: xAI marks chat completions and /completions as legacy in favour of the Responses API
--   (/v1/responses, served natively); reasoning models do not support /completions.
local compat = require("openai_compatible")

return compat.provider {
  name = "xAI",
  semconv_name = "x_ai",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  base_url = "https://api.x.ai/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "responses",
    "images/generations", "files" },
  docs = "https://docs.x.ai/developers/rest-api-reference",
  notes = "chat/completions and completions are legacy (Responses preferred); image edits are JSON, not listed",
}
