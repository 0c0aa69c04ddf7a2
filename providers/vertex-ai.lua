-- Google Vertex AI (https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest): Gemini
-- models through generateContent and Anthropic's Claude models through rawPredict, both translated
-- from and to OpenAI's chat completions (lib/chat_to_gemini.lua, lib/chat_to_anthropic.lua).
-- Auth: an OAuth access token as the key (Authorization: Bearer <token>, sent on as is), or a
-- service account's JSON key in x-portkey-vertex-service-account-json (config:
-- vertex_service_account_json, as an object or a string), exchanged for a token by
-- lib/google_auth.lua and kept until shortly before it expires.
-- Settings: x-portkey-vertex-project-id (required), x-portkey-vertex-region (default us-central1;
-- "global" uses the global endpoint). /v1/messages goes to Claude as is (rawPredict) and is
-- translated for Gemini models; /v1/messages/count_tokens likewise (count-tokens:rawPredict for
-- Claude, lib/gemini_count_tokens.lua for Gemini). /v1/embeddings goes to the text embedding
-- models' `:predict` (…/publishers/google/models/{model}:predict, e.g. text-embedding-005,
-- gemini-embedding-001), translated by lib/embeddings_to_vertex.lua (instances[].content,
-- task_type, parameters.outputDimensionality -> data[].embedding, usage from statistics.token_count;
-- read: Vertex's text-embeddings API page and REST types, see that file for what is not verified).
local compat = require("openai_compatible")
local chat = require("openai_chat")
local gemini = require("chat_to_gemini")
local claude = require("chat_to_anthropic")
local count_tokens = require("gemini_count_tokens")
local embeddings = require("embeddings_to_vertex")
local validate = require("validate")
local upstream_errors = require("upstream_errors")
local google_auth = require("google_auth")

local NAME = "Vertex AI"

local provider = {
  name = NAME,
  semconv_name = "gcp.vertex_ai",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  -- Claude takes /v1/messages as is (rawPredict); for other models prepare asks for the converter.
  -- Anthropic's count_tokens: Claude's count-tokens:rawPredict, Gemini's :countTokens (translated).
  endpoints = { ["chat/completions"] = "translate", messages = "native", ["messages/count_tokens"] = "translate",
                embeddings = "translate" },
  decode_body = true,
  client_headers = { "anthropic-beta" },
  -- The region is in the host (<region>-aiplatform.googleapis.com).
  host_settings = { "vertex_region" },
  -- A service account key is a credential: in a named config it is a key the gateway holds.
  credential_settings = { "vertex_service_account_json" },
  docs = "https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest",
  auth_scheme = "Authorization: Bearer <OAuth access token>, or a service account key (x-portkey-vertex-service-account-json)",
  notes = "needs x-portkey-vertex-project-id (region default us-central1); Gemini and Claude chat, embeddings via :predict",
}

local function setting(ctx, name)
  local value = ctx.settings[name]
  if value ~= nil and not value:match("^[%w%-]+$") then
    error(chat.bad_request("x-portkey-" .. name:gsub("_", "-") .. " may hold only letters, digits and '-'"))
  end
  return value
end

function provider.prepare(ctx)
  local service_account = ctx.settings.vertex_service_account_json
  if service_account then
    local token, ask = google_auth.access_token(ctx, service_account, "x-portkey-vertex-service-account-json")
    if ask then return ask end
    ctx.access_token = token
  elseif ctx.api_key == nil or ctx.api_key == "" then
    error(compat.unauthorized(NAME .. " needs an access token ('Authorization: Bearer <token>') or a service account key (x-portkey-vertex-service-account-json)"))
  else
    ctx.access_token = ctx.api_key
  end
  local project = setting(ctx, "vertex_project_id")
  local region = setting(ctx, "vertex_region") or "us-central1"
  if not project then
    error(chat.bad_request(NAME .. " needs the project: set x-portkey-vertex-project-id", "x-portkey-vertex-project-id"))
  end
  local base = ctx.custom_host and ctx.custom_host:gsub("/+$", "")
    or ("https://" .. (region == "global" and "" or region .. "-") .. "aiplatform.googleapis.com/v1")
  local publishers = base .. "/projects/" .. project .. "/locations/" .. region .. "/publishers/"
  local body = ctx.body
  local model = type(body) == "table" and body.model
  if type(model) ~= "string" or model == "" or model:find("[/?#:%s]") then
    error(chat.bad_request("model must name a Vertex model, e.g. gemini-2.5-flash or claude-sonnet-4-5", "model"))
  end

  local url, out
  if ctx.endpoint == "embeddings" then
    ctx.embeddings = true
    out = embeddings.request(ctx, body)
    return { url = publishers .. "google/models/" .. model .. ":predict", method = "POST",
             headers = { authorization = "Bearer " .. ctx.access_token }, body = validate.encode(out, body) }
  end
  if ctx.endpoint == "messages/count_tokens" then
    if model:match("^claude") then
      -- Claude's count-tokens takes the Messages body with the model in it, and answers in Anthropic's shape.
      validate.messages_request(body)
      ctx.count_tokens = "claude"
      return { url = publishers .. "anthropic/models/count-tokens:rawPredict", method = "POST",
               headers = { authorization = "Bearer " .. ctx.access_token }, body = body }
    end
    local name, fetch
    out, name, fetch = count_tokens.request(ctx, true)
    if fetch then return { fetch = fetch } end
    ctx.publisher = "google"
    return { url = publishers .. "google/models/" .. name .. ":countTokens", method = "POST",
             headers = { authorization = "Bearer " .. ctx.access_token }, body = validate.encode(out, ctx.body) }
  end
  if ctx.endpoint == "messages" then
    -- Anthropic's dialect: Claude takes it as is (rawPredict); other models go through the
    -- gateway's translation to chat completions.
    if not model:match("^claude") then return { via = "chat/completions" } end
    validate.messages_request(body)  -- the body is re-encoded: a value JSON cannot carry is refused here
    body.model = nil
    body.anthropic_version = "vertex-2023-10-16"
    url = publishers .. "anthropic/models/" .. model .. (body.stream == true and ":streamRawPredict" or ":rawPredict")
    return { url = url, method = "POST", headers = { authorization = "Bearer " .. ctx.access_token }, body = body }
  end
  if model:match("^claude") then
    ctx.publisher = "anthropic"
    out = claude.request(ctx)
    out.model = nil  -- the model is in the URL on Vertex
    out.anthropic_version = "vertex-2023-10-16"
    url = publishers .. "anthropic/models/" .. model .. (out.stream and ":streamRawPredict" or ":rawPredict")
  else
    ctx.publisher = "google"
    local name, fetch
    out, name, fetch = gemini.request(ctx)
    if fetch then return { fetch = fetch } end
    url = publishers .. "google/models/" .. name ..
      (ctx.streaming and ":streamGenerateContent?alt=sse" or ":generateContent")
  end
  return { url = url, method = "POST", headers = { authorization = "Bearer " .. ctx.access_token },
           body = validate.encode(out, ctx.body) }
end

function provider.response(ctx, res)
  if ctx.embeddings then return embeddings.response(ctx, res) end
  if ctx.count_tokens == "claude" then return { body = res.text } end
  if ctx.count_tokens then return count_tokens.response(ctx, res) end
  if ctx.publisher == "anthropic" then return claude.response(ctx, res) end
  return gemini.response(ctx, res)
end

function provider.stream(ctx, event)
  if ctx.publisher == "anthropic" then return claude.stream(ctx, event) end
  return gemini.stream(ctx, event)
end

-- Claude's overloaded answers and Google's quota and availability codes are worth another try.
function provider.error(ctx, res) return upstream_errors.anthropic(res) or upstream_errors.google(res) end

return provider
