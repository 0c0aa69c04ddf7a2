-- providers/siliconflow.lua — SiliconFlow (OpenAI-compatible)
-- Docs: https://docs.siliconflow.cn/ (China) / https://docs.siliconflow.com/ (international)
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, embeddings, models, audio/speech (binary audio answer),
--   audio/transcriptions (multipart file + model, answers {text}), rerank (Cohere's fields and
--   results[].index/relevance_score, plus SiliconFlow's tokens), files, batches (OpenAI's Batch
--   object; endpoint /v1/chat/completions) — https://docs.siliconflow.cn/cn/api-reference
--   (audio/create-speech, rerank/create-rerank, batch/create-batch, userguide/guides/batch).
-- Not listed: images/generations — SiliconFlow's answer is {"images": [{"url"}], "timings",
--   "seed"}, not OpenAI's data[] (https://docs.siliconflow.cn/api-reference/images/images-generations),
--   so an OpenAI client could not read it; it is refused rather than relayed. No moderations.
-- Quirks: keys are region-bound. Default is the China host (as Portkey); international
--   accounts set x-portkey-custom-host: https://api.siliconflow.com/v1.
local compat = require("openai_compatible")

return compat.provider {
  name = "SiliconFlow",
  base_url = "https://api.siliconflow.cn/v1",
  endpoints = { "chat/completions", "embeddings", "models", "audio/speech", "audio/transcriptions",
    "rerank", "files", "batches" },
  docs = "https://docs.siliconflow.cn/cn/api-reference",
  notes = "China host by default; international keys: custom host https://api.siliconflow.com/v1; images not OpenAI-shaped, not listed",
}
