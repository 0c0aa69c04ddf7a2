-- providers/lepton.lua — Lepton AI, now NVIDIA DGX Cloud Lepton (custom host required)
-- Docs: https://docs.nvidia.com/dgx-cloud/lepton/features/endpoints/configurations ;
--   https://lepton.ai/docs/guides/endpoints/dedicated-endpoints
-- Auth: Authorization: Bearer <endpoint token> (an endpoint may also be public without a token;
--   a key is still required here, as for every hosted provider — send any placeholder for a
--   public endpoint).
-- Endpoints: chat/completions, completions — the OpenAI-compatible API of the user's own dedicated
--   endpoint (Lepton LLM Engine, vLLM or NVIDIA NIM).
-- Status: Lepton's shared serverless API (https://api.lepton.ai/api/v1, what Portkey points at) is
--   gone from the current documentation: DGX Cloud Lepton serves only per-workspace dedicated
--   endpoints, each with its own URL. So there is NO default URL: x-portkey-custom-host must be
--   the endpoint's OpenAI base (including its version path, used as written); without it the
--   request is refused with 400. A shutdown notice for api.lepton.ai was not found (not verified).
local compat = require("openai_compatible")

return compat.provider {
  name = "Lepton (DGX Cloud Lepton)",
  base_url = nil,
  endpoints = { "chat/completions", "completions" },
  docs = "https://docs.nvidia.com/dgx-cloud/lepton/features/endpoints/configurations",
  auth_scheme = "Authorization: Bearer <endpoint token>",
  notes = "custom host required: shared api.lepton.ai is gone; per-endpoint URLs on DGX Cloud Lepton",
}
