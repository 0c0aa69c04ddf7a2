-- Shared helper for providers that speak OpenAI's API: a provider is its base URL, its auth header
-- and the endpoints it serves. The request body passes through byte for byte (no decode).
--
--   local compat = require("openai_compatible")
--   return compat.provider { name = "Groq", base_url = "https://api.groq.com/openai/v1" }
local M = {}

local STANDARD = { "chat/completions", "completions", "embeddings", "models" }

-- A 400 the gateway turns into an HTTP response: error(compat.bad_request("...")). `param` names
-- the field it is about, `code` the kind of refusal (both optional). Every provider and converter
-- builds its 400s here (openai_chat.bad_request is this with code "unsupported_parameter").
function M.bad_request(message, param, code)
  return { status = 400, type = "invalid_request_error", code = code, message = message, param = param }
end

function M.unauthorized(message)
  return { status = 401, type = "authentication_error", code = "missing_api_key", message = message }
end

-- Joins a base URL, a path that starts with "/" and an optional raw query.
function M.join_url(base, path, query)
  if base:sub(-1) == "/" then base = base:sub(1, -2) end
  local url = base .. path
  if query and query ~= "" then
    url = url .. (url:find("?", 1, true) and "&" or "?") .. query
  end
  return url
end

-- The auth headers for a key, per the provider's spec.
function M.auth_headers(spec, key)
  local headers = {}
  if spec.extra_headers then
    for name, value in pairs(spec.extra_headers) do headers[name] = value end
  end
  if key and key ~= "" then
    headers[spec.auth_header or "authorization"] = (spec.auth_prefix or "Bearer ") .. key
  end
  return headers
end

-- Refuses a request that needs a key and has none, naming the header to send.
function M.require_key(spec, ctx)
  if spec.requires_key ~= false and (ctx.api_key == nil or ctx.api_key == "") then
    error(M.unauthorized((spec.name or "this provider") ..
      " needs an API key: send it as 'Authorization: Bearer <key>'"))
  end
end

-- The base URL for a request. A custom host replaces spec.base_url; with spec.custom_host_path
-- (e.g. "/v1") a custom host written as the server root gets that path appended, so both
-- "http://host:11434" and "http://host:11434/v1" work. With spec.root_passthrough (e.g. "/api/"),
-- passthrough paths starting with it go to the server root instead (a local server's native API).
local function without_trailing_slashes(s)
  local n = #s
  while n > 0 and s:byte(n) == 47 do n = n - 1 end  -- 47 is "/"; cheaper than gsub per request
  if n == #s then return s end
  return s:sub(1, n)
end

-- The base URL a setting places (a workspace, region or account), for a spec's
-- `url_setting = { provider = id, name = setting, what = "the shape it must have",
-- base = function(value) return url or nil end }`: required unless the client gives a custom host;
-- a 400 naming the header and the config key when missing, and the shape when `base` refuses it.
function M.setting_url(setting, ctx)
  local value = (ctx.settings or {})[setting.name]
  local header = "x-portkey-" .. (setting.name:gsub("_", "-"))
  if value == nil or value == "" then
    error(M.bad_request(setting.provider .. " needs " .. header .. " (config: " .. setting.name
      .. ") or x-portkey-custom-host"))
  end
  local url = type(value) == "string" and setting.base(value)
  if not url then error(M.bad_request(setting.provider .. ": " .. header .. " must be " .. setting.what)) end
  return url
end

function M.base_url(spec, ctx)
  local base = ctx.custom_host or (spec.url_setting and M.setting_url(spec.url_setting, ctx)) or spec.base_url
  if not base then return nil end
  base = without_trailing_slashes(base)
  local suffix = spec.custom_host_path
  if suffix and ctx.custom_host and base:sub(-#suffix) ~= suffix then
    base = base .. suffix
  end
  local root_prefix = spec.root_passthrough
  if suffix and root_prefix and ctx.endpoint == "passthrough" and ctx.path:sub(1, #root_prefix) == root_prefix
      and base:sub(-#suffix) == suffix then
    base = base:sub(1, -#suffix - 1)
  end
  return base
end

-- The `auth(ctx)` of a provider described by `spec` (the passthrough paths' base URL and headers):
-- the key required unless spec.requires_key is false, the base URL (with its version path; a
-- custom host or spec.url_setting places it), and the auth headers.
function M.auth(spec)
  return function(ctx)
    M.require_key(spec, ctx)
    local base = M.base_url(spec, ctx)
    if not base then
      error(M.bad_request((spec.name or "this provider") .. " has no default URL: set x-portkey-custom-host"))
    end
    return base, M.auth_headers(spec, ctx.api_key)
  end
end

-- Builds a provider table from a spec (see providers/README.md for the fields). Its endpoint
-- table serves spec.endpoints natively (the body passes through byte for byte) and every other
-- /v1 path the same way ("*"). The gateway's named endpoints (images/*, audio/*, rerank,
-- moderations, files, batches, realtime) are served only when spec.endpoints lists them, so a
-- provider without them refuses them instead of forwarding to a server that answers 404.
function M.provider(spec)
  local p = {}
  for k, v in pairs(spec) do p[k] = v end
  local endpoints = { ["*"] = "native" }
  for _, name in ipairs(spec.endpoints or STANDARD) do endpoints[name] = "native" end
  p.endpoints = endpoints
  p.requires_key = spec.requires_key ~= false
  -- For the providers table (providers/README.md): the auth header as the spec sets it.
  if not p.auth_scheme then
    local header = spec.auth_header or "Authorization"
    if header == "authorization" then header = "Authorization" end
    p.auth_scheme = header .. ": " .. (spec.auth_prefix or "Bearer ") .. "<key>"
      .. (p.requires_key and "" or " (optional)")
  end

  p.auth = M.auth(spec)

  function p.prepare(ctx)
    local base, headers = p.auth(ctx)
    return { url = M.join_url(base, ctx.path, ctx.query), headers = headers }
  end

  return p
end

return M
