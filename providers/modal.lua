-- providers/modal.lua — Modal (the user's own OpenAI-compatible app on Modal)
-- Docs: https://modal.com/docs/guide/webhook-proxy-auth (proxy auth tokens: Modal-Key / Modal-Secret
--   headers), Modal's vLLM example "Run an OpenAI-Compatible vLLM Server" (modal-labs/modal-examples,
--   06_gpu_and_ml/llm-serving/vllm_inference.py: /v1/chat/completions, /v1/completions, /v1/models,
--   optional Bearer API key).
-- There is no shared Modal endpoint: each app has its own URL
--   (https://<workspace>--<app>-<function>.modal.run). Portkey's default https://api.modal.com/v1 is a
--   placeholder, so x-portkey-custom-host is REQUIRED (Portkey users already send it, ending in /v1).
-- Auth: Authorization: Bearer <key> when the client sends a key (the app's own key, e.g. vLLM's
--   --api-key); without one, nothing. Modal-Key / Modal-Secret (proxy auth tokens) are passed on
--   from the client when sent.
-- Endpoints: chat/completions, completions, models (an OpenAI-compatible vLLM server's).
local compat = require("openai_compatible")

local provider = compat.provider {
  name = "Modal",
  requires_key = false,
  endpoints = { "chat/completions", "completions", "models" },
  client_headers = { "modal-key", "modal-secret" },
  docs = "https://modal.com/docs/guide/webhook-proxy-auth",
  auth_scheme = "Authorization: Bearer <key> (optional); Modal-Key / Modal-Secret passed on",
  notes = "custom host required (the user's own *.modal.run app URL, ending in /v1)",
}

function provider.prepare(ctx)
  if not ctx.custom_host then
    error(compat.bad_request("modal needs x-portkey-custom-host: your Modal app's URL "
      .. "(e.g. https://<workspace>--<app>.modal.run/v1); Modal has no shared endpoint"))
  end
  local base, headers = provider.auth(ctx)
  return { url = compat.join_url(base, ctx.path, ctx.query), headers = headers }
end

return provider
