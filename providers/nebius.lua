-- providers/nebius.lua — Nebius Token Factory (formerly Nebius AI Studio), OpenAI-compatible
-- Docs: https://docs.tokenfactory.nebius.com/api-reference/introduction
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, embeddings, models, images/generations
--   (https://docs.tokenfactory.nebius.com/api-reference/inference/generate: OpenAI's body plus
--   Nebius extras such as width/height/response_extension, answer data[]), files, batches
--   (https://docs.tokenfactory.nebius.com/ai-models-inference/batch-inference: OpenAI's Files and
--   Batch APIs; batch endpoints /v1/chat/completions and /v1/embeddings).
-- Not listed: audio, rerank, moderations (none in the reference).
-- Quirks: the service was renamed; the old host api.studio.nebius.ai (still in Portkey's
--   gateway) can be set via x-portkey-custom-host if needed.
local compat = require("openai_compatible")

return compat.provider {
  name = "Nebius",
  base_url = "https://api.tokenfactory.nebius.com/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "images/generations",
    "files", "batches" },
  docs = "https://docs.tokenfactory.nebius.com/api-reference/introduction",
  notes = "formerly Nebius AI Studio (old host api.studio.nebius.ai via custom host)",
}
