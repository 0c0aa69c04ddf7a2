-- providers/azure-ai.lua — Azure AI Foundry (Microsoft Foundry Models), OpenAI v1 API
-- Docs: https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle (the v1 API:
--   base_url https://<resource>.openai.azure.com/openai/v1/ or, for a Foundry resource,
--   https://<resource>.services.ai.azure.com/openai/v1/; no dated api-version; OpenAI clients with
--   key or token auth; chat completions for other providers' models such as DeepSeek and Grok),
--   https://learn.microsoft.com/azure/ai-services/openai/reference (api-key header, or
--   Authorization: Bearer <Entra token>), Foundry model inference REST reference
--   https://learn.microsoft.com/rest/api/microsoft-foundry/modelinference/ (for x-portkey-azure-foundry-url).
-- Auth: api-key: <key> (the client's Bearer key); with x-portkey-azure-ad-token (a Microsoft Entra
--   token the client already has) Authorization: Bearer <token> instead and no key is needed.
--   Fetching Entra / managed-identity tokens (Portkey's azureAuthMode) needs host I/O: not supported.
-- Endpoints: chat/completions, embeddings, responses, models, files — the GA paths of Microsoft's
--   "v1 API support" table (api-version-lifecycle, 2025-08: /openai/v1/chat/completions, /embeddings,
--   /files, /fine_tuning, /models, /responses, /vector_stores GA; /evals preview). fine_tuning,
--   vector_stores and evals go through "*" unchanged. `model` is the deployment name. Batches, images
--   and audio are not in that table, so they are not declared (refused with 400); the azure-openai
--   provider serves them on the dated API.
-- Settings (header form / config form):
--   x-portkey-azure-resource-name / azure_resource_name — the Foundry resource: requests go to
--     https://<resource>.services.ai.azure.com/openai/v1 (host setting).
--   x-portkey-azure-foundry-url / azure_foundry_url (Portkey's setting) — instead of the resource name,
--     a full Azure URL used as the base, e.g. https://<r>.services.ai.azure.com/models (the model
--     inference API) or https://<endpoint>.<region>.models.ai.azure.com (serverless). Only https URLs
--     on *.services.ai.azure.com, *.openai.azure.com, *.cognitiveservices.azure.com and
--     *.<region>.models.ai.azure.com are accepted (host setting).
--   x-portkey-azure-api-version / azure_api_version — sent as api-version (default for a foundry URL
--     ending in /models: 2024-05-01-preview; none for the v1 API).
--   x-portkey-azure-deployment-name / azure_deployment_name — sent as azureml-model-deployment.
--   x-portkey-azure-extra-params / azure_extra_params — sent as extra-parameters
--     (pass-through | drop | error). Portkey defaults to drop; here nothing is sent unless asked.
--   x-portkey-azure-ad-token / azure_ad_token — credential (see Auth).
local compat = require("openai_compatible")

local MODELS_API_VERSION = "2024-05-01-preview"

local provider = compat.provider {
  name = "Azure AI Foundry",
  semconv_name = "azure.ai.inference",
  base_url = "https://{resource}.services.ai.azure.com/openai/v1",
  auth_header = "api-key",
  auth_prefix = "",
  endpoints = { "chat/completions", "embeddings", "responses", "models", "files" },
  host_settings = { "azure_resource_name", "azure_foundry_url" },
  credential_settings = { "azure_ad_token" },
  docs = "https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle",
  auth_scheme = "api-key: <key>, or Authorization: Bearer <Entra token> with x-portkey-azure-ad-token",
  notes = "requires x-portkey-azure-resource-name or x-portkey-azure-foundry-url (host); OpenAI v1 API, model = deployment name",
}

local LABEL = "^%w[%w%-]*$"

local function setting(settings, name)
  local v = settings[name]
  if v == nil or v == "" then return nil end
  if type(v) ~= "string" then
    error(compat.bad_request("azure-ai: x-portkey-" .. name:gsub("_", "-") .. " must be a string"))
  end
  return v
end

-- Whether a host is one of the Azure inference hosts a foundry URL may name.
local function azure_host(host)
  local first, rest = host:match("^([^.]+)%.(.+)$")
  if not first or #first > 63 or not first:match(LABEL) then return false end
  if rest == "services.ai.azure.com" or rest == "openai.azure.com" or rest == "cognitiveservices.azure.com" then
    return true
  end
  local region = rest:match("^([^.]+)%.models%.ai%.azure%.com$")
  return region ~= nil and region:match("^%l[%l%d]*$") ~= nil
end

-- The base URL from a foundry URL, or an error naming the header.
local function foundry_base(url)
  local host, path = url:match("^https://([%w%.%-]+)(/?[%w/%._%-]*)$")
  if not host or #url > 300 or not azure_host(host:lower()) or path:find("..", 1, true) then
    error(compat.bad_request("azure-ai: x-portkey-azure-foundry-url must be an https URL on "
      .. "*.services.ai.azure.com, *.openai.azure.com, *.cognitiveservices.azure.com or "
      .. "*.<region>.models.ai.azure.com, without query or port"))
  end
  while path:sub(-1) == "/" do path = path:sub(1, -2) end
  return "https://" .. host:lower() .. path, path
end

function provider.prepare(ctx)
  local settings = ctx.settings or {}

  local headers = {}
  local token = setting(settings, "azure_ad_token")
  if token then
    token = token:gsub("^[Bb]earer%s+", "")
    headers["authorization"] = "Bearer " .. token
  else
    if ctx.api_key == nil or ctx.api_key == "" then
      error(compat.unauthorized("azure-ai needs an API key (send it as 'Authorization: Bearer <key>'; "
        .. "it goes upstream as api-key) or a Microsoft Entra token in x-portkey-azure-ad-token"))
    end
    headers["api-key"] = ctx.api_key
  end

  local base, version
  if ctx.custom_host then
    base = ctx.custom_host
  else
    local foundry = setting(settings, "azure_foundry_url")
    local resource = setting(settings, "azure_resource_name")
    if foundry and resource then
      error(compat.bad_request("azure-ai: send x-portkey-azure-resource-name or x-portkey-azure-foundry-url, not both"))
    elseif foundry then
      local path
      base, path = foundry_base(foundry)
      if path:sub(-7) == "/models" then version = MODELS_API_VERSION end
    elseif resource then
      if #resource > 64 or not resource:match(LABEL) then
        error(compat.bad_request("azure-ai: x-portkey-azure-resource-name may contain only letters, digits and '-'"))
      end
      base = "https://" .. resource:lower() .. ".services.ai.azure.com/openai/v1"
    else
      error(compat.bad_request("azure-ai needs x-portkey-azure-resource-name (config: azure_resource_name), "
        .. "x-portkey-azure-foundry-url or x-portkey-custom-host"))
    end
  end

  local named_version = setting(settings, "azure_api_version")
  if named_version then
    if #named_version > 40 or not named_version:match("^[%w%.%-]+$") then
      error(compat.bad_request("azure-ai: invalid x-portkey-azure-api-version"))
    end
    version = named_version
  end
  local query = ctx.query or ""
  if version and not ("&" .. query):find("&api%-version=") then
    query = (query ~= "" and (query .. "&") or "") .. "api-version=" .. version
  end

  local deployment = setting(settings, "azure_deployment_name")
  if deployment then
    if #deployment > 128 or not deployment:match("^[%w][%w%._%-]*$") then
      error(compat.bad_request("azure-ai: x-portkey-azure-deployment-name may contain only letters, digits, '.', '_' and '-'"))
    end
    headers["azureml-model-deployment"] = deployment
  end
  local extra = setting(settings, "azure_extra_params")
  if extra then
    if extra ~= "pass-through" and extra ~= "drop" and extra ~= "error" then
      error(compat.bad_request("azure-ai: x-portkey-azure-extra-params must be pass-through, drop or error"))
    end
    headers["extra-parameters"] = extra
  end

  return { url = compat.join_url(base, ctx.path, query), headers = headers }
end

return provider
