-- providers/github.lua — GitHub Models (OpenAI-compatible inference API)
-- Docs: https://docs.github.com/en/rest/models/inference (POST /inference/chat/completions,
--   POST /orgs/{org}/inference/chat/completions), https://docs.github.com/en/rest/models/embeddings
--   (POST /orgs/{org}/inference/embeddings; /inference/embeddings per GitHub's codespaces-models
--   samples), https://github.blog/changelog/2025-07-17-deprecation-of-azure-endpoint-for-github-models
--   (the old https://models.inference.ai.azure.com endpoint, which Portkey's stored code still uses,
--   lost support on 2025-10-17).
-- Auth: Authorization: Bearer <GitHub token> (a PAT or GitHub App token with models: read).
-- Endpoints: chat/completions, embeddings. The model catalog (GET https://models.github.ai/catalog/models)
--   is not OpenAI's /models shape and sits outside /inference, so "models" is not declared.
-- Model ids are publisher/model: openai/gpt-4.1, openai/text-embedding-3-small, meta/Llama-4-...
-- Setting (header form / config form):
--   x-portkey-github-org / github_org — optional: attribute usage to an organization
--   (https://models.github.ai/orgs/{org}/inference/...). Only a path on GitHub's host, so not a host
--   setting. A GitHub login: letters, digits and single '-', at most 39 characters.
local compat = require("openai_compatible")

local BASE = "https://models.github.ai/inference"

local provider = compat.provider {
  name = "GitHub Models",
  base_url = BASE,
  endpoints = { "chat/completions", "embeddings" },
  docs = "https://docs.github.com/en/rest/models/inference",
  auth_scheme = "Authorization: Bearer <GitHub token>",
  notes = "models.github.ai (the Azure endpoint was retired 2025-10-17); model ids are publisher/model; optional x-portkey-github-org",
}

local default_prepare = provider.prepare

function provider.prepare(ctx)
  local req = default_prepare(ctx)  -- checks the key, sets Authorization, honours a custom host
  local org = (ctx.settings or {}).github_org
  if org == nil or org == "" then
    return req
  end
  if type(org) ~= "string" or #org > 39 or not org:match("^%w[%w%-]*$") or org:find("--", 1, true)
      or org:sub(-1) == "-" then
    error(compat.bad_request("github: x-portkey-github-org must be a GitHub organization login "
      .. "(letters, digits and single '-', at most 39 characters)"))
  end
  if ctx.custom_host then
    error(compat.bad_request("github: x-portkey-github-org cannot be combined with x-portkey-custom-host"))
  end
  req.url = compat.join_url("https://models.github.ai/orgs/" .. org .. "/inference", ctx.path, ctx.query)
  return req
end

return provider
