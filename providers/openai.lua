-- OpenAI — https://platform.openai.com/docs/api-reference
-- Auth: Authorization: Bearer <key>. Optional organization/project headers come from
-- x-portkey-openai-organization / x-portkey-openai-project.
local compat = require("openai_compatible")

local provider = compat.provider {
  name = "OpenAI",
  base_url = "https://api.openai.com/v1",
  docs = "https://platform.openai.com/docs/api-reference",
  notes = "optional x-portkey-openai-organization / x-portkey-openai-project headers",
  -- /v1/responses is OpenAI's own (GET/DELETE /v1/responses/{id} reach it through "*").
  endpoints = { "chat/completions", "completions", "embeddings", "models", "responses",
    "images/generations", "images/edits", "images/variations", "audio/speech", "audio/transcriptions",
    "audio/translations", "moderations", "files", "batches",
    -- The Realtime API's WebSocket (GA): wss://api.openai.com/v1/realtime?model=..., Authorization: Bearer
    -- (https://developers.openai.com/api/docs/guides/realtime-websocket); the gateway does the upgrade.
    "realtime" },
}

local prepare = provider.prepare
function provider.prepare(ctx)
  local request = prepare(ctx)
  local settings = ctx.settings
  local organization = settings.openai_organization or settings.organization
  local project = settings.openai_project or settings.project
  if organization then request.headers["openai-organization"] = organization end
  if project then request.headers["openai-project"] = project end
  return request
end

return provider
