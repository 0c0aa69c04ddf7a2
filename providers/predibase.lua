-- providers/predibase.lua — Predibase (OpenAI-compatible endpoints per deployment)
-- Docs: https://docs.predibase.com/user-guide/inference/migrate-openai ("OpenAI-Compatible Method":
--   base_url = https://serving.app.predibase.com/{tenant_id}/deployments/v2/llms/{deployment}/v1,
--   api_key = the Predibase API token, model = "<adapter repo>/<version>" or "" for the base model).
-- Auth: Authorization: Bearer <Predibase API token>
-- Endpoints: chat/completions — what the migration page documents ("OpenAI Chat Completions v1
--   compatible endpoints").
-- Settings (header form / config form):
--   x-portkey-predibase-tenant-id  / predibase_tenant_id  — required unless custom host
--   x-portkey-predibase-deployment / predibase_deployment — required unless custom host
--   Both are path segments on Predibase's host (not host settings); letters, digits, '.', '_', '-'.
-- Custom host: replaces the whole base (a VPC deployment's URL ending in /v1).
-- Not supported: Portkey's form, which takes the tenant from the body's `user` and the deployment from
--   `model` ("base:adapter/1") — that needs the body rewritten; use the two settings instead.
local compat = require("openai_compatible")

local provider = compat.provider {
  name = "Predibase",
  base_url = "https://serving.app.predibase.com/{tenant_id}/deployments/v2/llms/{deployment}/v1",
  endpoints = { "chat/completions" },
  docs = "https://docs.predibase.com/user-guide/inference/migrate-openai",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "requires x-portkey-predibase-tenant-id and x-portkey-predibase-deployment (path); model = adapter id or \"\"",
}

local SEGMENT = "^[%w][%w%._%-]*$"

local function path_setting(settings, name, header)
  local v = settings[name]
  if v == nil or v == "" then
    error(compat.bad_request("predibase needs " .. header .. " (config: " .. name .. ") or x-portkey-custom-host"))
  end
  if type(v) ~= "string" or #v > 128 or not v:match(SEGMENT) then
    error(compat.bad_request("predibase: " .. header .. " may contain only letters, digits, '.', '_' and '-'"))
  end
  return v
end

local default_prepare = provider.prepare

function provider.prepare(ctx)
  local req = default_prepare(ctx)
  if ctx.custom_host then
    return req
  end
  local settings = ctx.settings or {}
  local tenant = path_setting(settings, "predibase_tenant_id", "x-portkey-predibase-tenant-id")
  local deployment = path_setting(settings, "predibase_deployment", "x-portkey-predibase-deployment")
  req.url = compat.join_url("https://serving.app.predibase.com/" .. tenant .. "/deployments/v2/llms/"
    .. deployment .. "/v1", ctx.path, ctx.query)
  return req
end

return provider
