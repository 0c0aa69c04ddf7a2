-- providers/azure-openai.lua — Azure OpenAI Service
-- Docs: https://learn.microsoft.com/azure/ai-services/openai/reference
--       https://learn.microsoft.com/rest/api/azureopenai/models/list
-- Auth: api-key: <key>   (the client's Authorization: Bearer <key> value, sent without "Bearer")
-- Endpoints: chat/completions, completions, embeddings, models, responses, images/generations,
--   images/edits, audio/speech, audio/transcriptions, audio/translations, files, batches (Azure has
--   no image variations and no moderations endpoint).
-- URL shape:
--   https://{resource}.openai.azure.com/openai/deployments/{deployment}{path}?api-version={v}
--   for the per-deployment paths (chat/completions, completions, embeddings, images/*,
--   audio/*), and https://{resource}.openai.azure.com/openai{path}?api-version={v} for
--   everything else (models -> /openai/models, files, batches, fine_tuning, ...).
--   The Responses API (/responses, /responses/{id}, /responses/{id}/input_items) has no
--   deployment in its path (the deployment is the body's model): it goes to Azure's v1 API,
--   https://{resource}.openai.azure.com/openai/v1/responses, which takes no api-version; when
--   the client names an api-version (header, config or query) it goes to the dated surface,
--   /openai/responses?api-version={v} (2025-03-01-preview or later), as before.
--   Docs: https://learn.microsoft.com/azure/ai-foundry/openai/how-to/responses
--   x-portkey-custom-host replaces "https://{resource}.openai.azure.com/openai".
-- Settings (header form / routing-config form):
--   resource    x-portkey-azure-resource-name   / resource_name   (required unless custom host)
--   deployment  x-portkey-azure-deployment-id   / deployment_id   (required for deployment paths)
--   api version x-portkey-azure-api-version     / api_version     (default 2024-10-21)
-- Quirks: 2024-10-21 is the latest dated GA api-version of both the inference and the
--   authoring data plane (Models - List is documented for it). An api-version already in the
--   client's query string wins. Entra ID / managed-identity auth (Portkey's azureAuthMode) is
--   not implemented: only key auth via api-key.
local compat = require("openai_compatible")

local DEFAULT_API_VERSION = "2024-10-21"
-- Image edits are not in 2024-10-21's inference reference; they appear with 2025-04-01-preview
-- (gpt-image-1 on Azure). A client's api-version still wins. (From Azure's versioned references;
-- not verified against a live resource.)
local PATH_API_VERSIONS = { ["/images/edits"] = "2025-04-01-preview" }

local provider = compat.provider {
  name = "Azure OpenAI",
  semconv_name = "azure.ai.openai",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  base_url = "https://{resource}.openai.azure.com/openai",
  auth_header = "api-key",
  auth_prefix = "",
  docs = "https://learn.microsoft.com/azure/ai-services/openai/reference",
  notes = "needs x-portkey-azure-resource-name, and x-portkey-azure-deployment-id for deployment paths; api-version 2024-10-21 by default; key auth only (no Entra ID)",
  endpoints = { "chat/completions", "completions", "embeddings", "models", "responses",
    "images/generations", "images/edits", "audio/speech", "audio/transcriptions", "audio/translations",
    "files", "batches",
    "realtime" },  -- the GA Realtime WebSocket: see provider.prepare
  -- The resource name is the host: a client may not choose it for a key the gateway holds.
  host_settings = { "azure_resource_name", "resource_name" },
}

-- Paths Azure serves per deployment, under /openai/deployments/{deployment}.
local DEPLOYMENT_PATHS = {
  ["/chat/completions"] = true,
  ["/completions"] = true,
  ["/embeddings"] = true,
  ["/images/generations"] = true,
  ["/images/edits"] = true,
  ["/audio/speech"] = true,
  ["/audio/transcriptions"] = true,
  ["/audio/translations"] = true,
}

-- First non-empty string among the named settings.
local function setting(settings, ...)
  for i = 1, select("#", ...) do
    local v = settings[select(i, ...)]
    if type(v) == "string" and v ~= "" then
      return v
    end
  end
  return nil
end

local default_prepare = provider.prepare

function provider.prepare(ctx)
  -- Default prepare sets the api-key header and rejects a missing key.
  local req = default_prepare(ctx)
  local settings = ctx.settings or {}

  local base = ctx.custom_host
  if not base then
    local resource = setting(settings, "azure_resource_name", "resource_name")
    if not resource then
      error(compat.bad_request(
        "azure-openai needs x-portkey-azure-resource-name (config: resource_name) "
          .. "or x-portkey-custom-host"))
    end
    if not resource:match("^[%w%-]+$") then
      error(compat.bad_request(
        "azure-openai: x-portkey-azure-resource-name may contain only letters, digits and '-'"))
    end
    base = "https://" .. resource .. ".openai.azure.com/openai"
  end

  local named_version = setting(settings, "azure_api_version", "api_version")
  local version = named_version or PATH_API_VERSIONS[ctx.path] or DEFAULT_API_VERSION
  if not version:match("^[%w%.%-]+$") then
    error(compat.bad_request("azure-openai: invalid x-portkey-azure-api-version"))
  end

  local path = ctx.path
  local query = ctx.query or ""
  if ctx.endpoint == "realtime" then
    -- GA Realtime (https://learn.microsoft.com/azure/foundry/openai/how-to/realtime-audio-websockets):
    -- wss://{resource}.openai.azure.com/openai/v1/realtime?model={deployment}, api-key header, no
    -- api-version (the preview surface, /openai/realtime?api-version=...&deployment=..., is deprecated).
    if not ("&" .. query):find("&model=") then
      local deployment = setting(settings, "azure_deployment_id", "deployment_id")
      if not deployment or not deployment:match("^[%w%._%-]+$") then
        error(compat.bad_request(
          "azure-openai realtime needs ?model=<deployment> or x-portkey-azure-deployment-id (config: deployment_id)"))
      end
      query = (query ~= "" and query .. "&" or "") .. "model=" .. deployment
    end
    local url = compat.join_url(base, "/v1/realtime", query)
    req.url = (url:gsub("^https://", "wss://"):gsub("^http://", "ws://"))
    return req
  end
  if (path == "/responses" or path:sub(1, 11) == "/responses/") and not named_version
      and not ("&" .. query):find("&api%-version=") then
    req.url = compat.join_url(base, "/v1" .. path, query)  -- the v1 API: no api-version
    return req
  end
  if DEPLOYMENT_PATHS[path] then
    local deployment = setting(settings, "azure_deployment_id", "deployment_id")
    if not deployment then
      error(compat.bad_request(
        "azure-openai needs x-portkey-azure-deployment-id (config: deployment_id) for " .. path))
    end
    if not deployment:match("^[%w%._%-]+$") then
      error(compat.bad_request(
        "azure-openai: x-portkey-azure-deployment-id may contain only letters, digits, '.', '_' and '-'"))
    end
    path = "/deployments/" .. deployment .. path
  end

  if not ("&" .. query):find("&api%-version=") then
    if query ~= "" then
      query = query .. "&"
    end
    query = query .. "api-version=" .. version
  end

  req.url = compat.join_url(base, path, query)
  return req
end

return provider
