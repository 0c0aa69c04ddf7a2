-- providers/ovhcloud.lua — OVHcloud AI Endpoints (OpenAI-compatible)
-- Docs: https://ovh.github.io/apache-airflow-provider-ovhcloud-ai/ai-endpoints (OVH's own GitHub
--   org: base URL, chat completions and embeddings);
--   https://docs.ovhcloud.com/en/guides/public-cloud/ai-machine-learning/ai-endpoints-audio-models
--   (speech to text, anonymous use); catalog https://endpoints.ai.cloud.ovh.net/
-- Auth: Authorization: Bearer <access token>, OPTIONAL: without a key OVHcloud serves anonymous,
--   rate-limited requests (its guides' examples use anonymous access), so requires_key = false and
--   a request without a key is sent without an Authorization header.
-- Endpoints: chat/completions, embeddings, audio/transcriptions (multipart, Whisper models).
-- Quirks: model ids like "Meta-Llama-3_3-70B-Instruct". Each model also has a dedicated URL
--   (https://<model>.endpoints.kepler.ai.cloud.ovh.net/api/openai_compat/v1), usable as a custom host.
-- Not verified: a models list endpoint on the unified host, so not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "OVHcloud AI Endpoints",
  base_url = "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1",
  requires_key = false,
  endpoints = { "chat/completions", "embeddings", "audio/transcriptions" },
  docs = "https://ovh.github.io/apache-airflow-provider-ovhcloud-ai/ai-endpoints",
  auth_scheme = "Authorization: Bearer <key> (optional)",
  notes = "key optional: anonymous use is free and rate-limited",
}
