-- providers/zhipu.lua — Zhipu AI BigModel open platform (China; OpenAI-compatible)
-- Docs: https://docs.bigmodel.cn/api-reference/模型-api/对话补全 (chat, Bearer auth);
--   https://docs.bigmodel.cn/api-reference/模型-api/文本嵌入 (embeddings);
--   https://docs.bigmodel.cn/api-reference/文件-api/上传文件 (files);
--   https://docs.bigmodel.cn/api-reference/批处理-api/创建批处理任务 (batches);
--   https://bigmodel.cn/dev/api/image-model/cogview (images/generations)
-- Auth: Authorization: Bearer <key>. Portkey sends the raw key without "Bearer"; this file follows
--   Zhipu's reference. The SDK can also sign a JWT from an "id.secret" key; a pre-minted JWT works.
-- Endpoints: chat/completions, embeddings, images/generations, files (upload purpose batch,
--   file-extract, …; list, retrieve, delete, content), batches (create, retrieve, list, cancel).
-- Quirks: no /v1 — the API lives under /api/paas/v4. Batch jobs name the endpoint with Zhipu's
--   own path, e.g. "endpoint": "/v4/chat/completions" (passed through untouched). Z.AI (z-ai) is the
--   international platform of the same API.
-- Not verified: audio/transcriptions (GLM-ASR) and audio/speech (GLM-TTS) on open.bigmodel.cn —
--   documented on Z.AI and by resellers, not read on bigmodel.cn — so not declared; rerank and
--   moderations exist in Zhipu's own shapes (not OpenAI's), so not declared either.
local compat = require("openai_compatible")

return compat.provider {
  name = "Zhipu AI",
  base_url = "https://open.bigmodel.cn/api/paas/v4",
  endpoints = { "chat/completions", "embeddings", "images/generations", "files", "batches" },
  docs = "https://docs.bigmodel.cn/api-reference",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "path prefix /api/paas/v4 (no /v1); batch lines use endpoint /v4/chat/completions",
}
