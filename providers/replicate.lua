-- Replicate — its own HTTP API, passed through with the key.
-- Reference: https://replicate.com/docs/reference/http (predictions, models, deployments, files),
--   https://replicate.com/docs/topics/predictions (the prediction object; its example is in the fixtures).
-- Base URL https://api.replicate.com/v1; auth Authorization: Bearer <API token>.
--
-- Every /v1 path is Replicate's own and goes as it is ("*" passthrough), e.g.
--   POST /v1/models/{owner}/{name}/predictions   {"input": {…}}   (official models; Prefer: wait
--        holds the answer up to 60 s — the client's Prefer header is forwarded)
--   POST /v1/predictions  {"version": …, "input": {…}},  GET /v1/predictions/{id},
--   POST /v1/predictions/{id}/cancel,  POST /v1/deployments/{owner}/{name}/predictions, …
-- A prediction's urls.stream (server-sent events) is on another host (stream.replicate.com) and is
-- read by the client directly, not through the gateway.
--
-- Not served: /v1/chat/completions, /v1/completions and the other OpenAI endpoints (400
-- unsupported_endpoint). Each Replicate model has its own input schema (prompt, system_prompt,
-- max_tokens or max_new_tokens, messages or not, …) and streams its output as a list of strings;
-- there is no one mapping from OpenAI's chat request that is right for every model, so none is
-- guessed (Portkey also only proxies Replicate).
local passthrough = require("passthrough_provider")

return passthrough.provider {
  name = "Replicate",
  base_url = "https://api.replicate.com/v1",
  docs = "https://replicate.com/docs/reference/http",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "Replicate's own API passed through (predictions, models, deployments; Prefer: wait forwarded); no OpenAI endpoints: input schemas differ per model",
}
