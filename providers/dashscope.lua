-- providers/dashscope.lua — Alibaba Cloud Model Studio / DashScope (OpenAI-compatible mode)
-- Docs: https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope
-- Auth: Authorization: Bearer <DashScope API key>
-- Endpoints: chat/completions, completions, embeddings, files, batches (OpenAI-compatible Batch
--   File API: upload with purpose=batch, then POST /batches —
--   https://www.alibabacloud.com/help/en/model-studio/batch-interfaces-compatible-with-openai).
-- Not listed: images, audio, rerank — DashScope serves those only through its native API
--   (/api/v1/services/...), not the compatible-mode base.
-- Quirks: keys are region-bound. Default is the international (Singapore) host, as Portkey;
--   China (Beijing) keys set x-portkey-custom-host:
--   https://dashscope.aliyuncs.com/compatible-mode/v1 (US: dashscope-us.aliyuncs.com).
--   /completions (Qwen-Coder FIM) is documented for the Beijing region only.
--   A /models list endpoint is not documented, so "models" is not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "DashScope",
  base_url = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "files", "batches" },
  docs = "https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope",
  notes = "Singapore host by default; keys are region-bound (Beijing: custom host https://dashscope.aliyuncs.com/compatible-mode/v1)",
}
