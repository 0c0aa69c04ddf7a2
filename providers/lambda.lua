-- providers/lambda.lua — Lambda Inference API (OpenAI-compatible)
-- Docs: https://docs.lambda.ai/public-cloud/lambda-inference-api
-- Auth: Authorization: Bearer <Lambda Cloud API key>
-- Endpoints: chat/completions, completions, models.
--   No images, audio, rerank, moderations, files or batches (service sunset).
-- Quirks: LEGACY. Lambda sunset the Inference API and announced its shutdown for
--   25 September (2025); requests are expected to fail. The host moved from
--   api.lambdalabs.com (Portkey's value) to api.lambda.ai. Kept for Portkey id parity.
local compat = require("openai_compatible")

return compat.provider {
  name = "Lambda",
  base_url = "https://api.lambda.ai/v1",
  endpoints = { "chat/completions", "completions", "models" },
  docs = "https://docs.lambda.ai/public-cloud/lambda-inference-api",
  notes = "legacy: Lambda announced the Inference API shutdown for 2025-09-25; kept for Portkey id parity",
}
