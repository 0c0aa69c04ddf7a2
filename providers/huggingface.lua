-- providers/huggingface.lua — Hugging Face (Inference Providers router, or a TGI endpoint)
-- Docs: https://huggingface.co/docs/inference-providers/index
--       https://huggingface.co/docs/text-generation-inference/messages_api
-- Auth: Authorization: Bearer <HF token> (fine-grained token with "Make calls to Inference
--   Providers" for the router; endpoint token for a dedicated Inference Endpoint).
-- Endpoints: chat/completions, completions, embeddings, models.
--   - Router (default, https://router.huggingface.co/v1): chat/completions and models.
--     A model id may carry a provider suffix, e.g. "openai/gpt-oss-120b:cerebras".
--   - TGI / Inference Endpoint via custom host: TGI (>= 1.4) serves /v1/chat/completions,
--     /v1/completions and /v1/models; a TEI endpoint serves /v1/embeddings.
--   No OpenAI-shaped images, audio, rerank, moderations, files or batches on the router (TEI's
--   /rerank is at the server root in its own shape).
-- Custom host: write the endpoint root, e.g.
--   x-portkey-custom-host: https://xyz.us-east-1.aws.endpoints.huggingface.cloud
--   A host already ending in /v1 is used as is; any other gets /v1 appended (Portkey appends
--   /v1/chat/completions to the endpoint root the same way).
-- Quirks: Portkey's x-portkey-huggingface-base-url is NOT read here: it would bypass the
--   host's custom-host validation; use x-portkey-custom-host instead. The old serverless host
--   api-inference.huggingface.co (Portkey's default) has been replaced by the router.
local compat = require("openai_compatible")

return compat.provider {
  name = "Hugging Face",
  base_url = "https://router.huggingface.co/v1",
  custom_host_path = "/v1",
  endpoints = { "chat/completions", "completions", "embeddings", "models" },
  docs = "https://huggingface.co/docs/inference-providers/index",
  notes = "router serves chat/completions and models; completions/embeddings need a TGI/TEI custom host",
}
