-- providers/databricks.lua — Databricks Model Serving (OpenAI client surface)
-- Docs: https://docs.databricks.com/machine-learning/model-serving/score-foundation-models.html
--   ("OpenAI client: Query a model hosted by a Mosaic AI Model Serving endpoint using the OpenAI
--   client. Specify the model serving endpoint name as the model input. Supported for chat,
--   embeddings, and completions models"; base_url = https://<workspace host>/serving-endpoints).
-- Auth: Authorization: Bearer <Databricks token> (personal access token or OAuth token).
-- Endpoints: chat/completions, completions, embeddings; `model` is the serving endpoint's name.
--   responses too: https://docs.databricks.com/machine-learning/model-serving/query-openai-responses
--   (OpenAI client with base_url https://<workspace>/serving-endpoints, client.responses.create; only
--   OpenAI pay-per-token and external models answer it).
-- Setting (header form / config form, Portkey's name):
--   x-portkey-databricks-workspace / databricks_workspace — required unless x-portkey-custom-host.
--   Either a workspace name (https://<name>.cloud.databricks.com, as in Portkey) or a full workspace
--   host ending in .cloud.databricks.com, .gcp.databricks.com or .azuredatabricks.net. It decides the
--   HOST, so it is a host setting.
-- Portkey calls /serving-endpoints/{name}/invocations with the model in the URL; the OpenAI client
--   path used here (/serving-endpoints/chat/completions, model in the body) is what Databricks
--   documents for OpenAI clients.
local compat = require("openai_compatible")

local LABEL = "^%w[%w%-]*$"
local HOST_SUFFIXES = { ".cloud.databricks.com", ".gcp.databricks.com", ".azuredatabricks.net" }

-- The workspace host for a setting value, or nil when it is not one.
local function workspace_host(v)
  if #v > 200 then return nil end
  if v:match(LABEL) and #v <= 63 then
    return v .. ".cloud.databricks.com"
  end
  for _, suffix in ipairs(HOST_SUFFIXES) do
    if #v > #suffix and v:sub(-#suffix) == suffix then
      local head = v:sub(1, -#suffix - 1)
      for label in (head .. "."):gmatch("([^.]*)%.") do
        if label == "" or #label > 63 or not label:match(LABEL) then return nil end
      end
      return v
    end
  end
  return nil
end

local provider = compat.provider {
  name = "Databricks",
  base_url = "https://{workspace}.cloud.databricks.com/serving-endpoints",
  endpoints = { "chat/completions", "completions", "embeddings", "responses" },
  host_settings = { "databricks_workspace" },
  docs = "https://docs.databricks.com/machine-learning/model-serving/score-foundation-models.html",
  auth_scheme = "Authorization: Bearer <Databricks token>",
  notes = "requires x-portkey-databricks-workspace (host); model = serving endpoint name",
  url_setting = {
    provider = "databricks", name = "databricks_workspace",
    what = "a workspace name or a host ending in .cloud.databricks.com, .gcp.databricks.com or .azuredatabricks.net",
    base = function(ws)
      local host = workspace_host(ws:lower())
      return host and "https://" .. host .. "/serving-endpoints"
    end,
  },
}

return provider
