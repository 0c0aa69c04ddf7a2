-- providers/featherless-ai.lua — Featherless AI (OpenAI-compatible, open-weight models)
-- Docs: https://featherless.ai/docs/api-overview-and-common-options ; https://featherless.ai/docs/completions ;
--   https://featherless.ai/docs/api-reference-models
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, completions, models.
-- Quirks: model ids are Hugging Face repo ids (e.g. "meta-llama/Meta-Llama-3.1-8B-Instruct").
--   Extra sampling fields (repetition_penalty, top_k, min_p, min_tokens, stop_token_ids, …) pass
--   through. Featherless asks integrations to send HTTP-Referer / X-Title (optional; the client's
--   own headers are not forwarded by this file).
--   GET /v1/models answers Featherless's own list ({data:[{id, name, model_class, context_length,
--   max_completion_tokens, is_gated, …}]}, no "object"), relayed as it is (Featherless serves it
--   without a key too; this file still asks for one); query filters (available_on_current_plan, q,
--   family, …) are passed on.
local compat = require("openai_compatible")

return compat.provider {
  name = "Featherless AI",
  base_url = "https://api.featherless.ai/v1",
  endpoints = { "chat/completions", "completions", "models" },
  docs = "https://featherless.ai/docs/api-overview-and-common-options",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "model ids are Hugging Face repo ids",
}
