-- Google service-account authentication for Google Cloud APIs (vertex-ai): a service account's JSON
-- key exchanged for an OAuth access token, so a client or a config can hold the key instead of a
-- token minted beforehand (which expires within the hour).
--
-- The exchange is OAuth 2.0's JWT bearer grant (RFC 7523) as Google documents it for
-- server-to-server applications (https://developers.google.com/identity/protocols/oauth2/service-account):
--   JWT header  {"alg":"RS256","typ":"JWT","kid":<private_key_id>}
--   JWT claims  {"iss":<client_email>,"scope":"https://www.googleapis.com/auth/cloud-platform",
--                "aud":<token_uri>,"iat":<now>,"exp":<now + 3600>}
--   signed with RS256 (gw.crypto.rsa_sha256_sign) by the key's private_key, then
--   POST <token_uri> (https://oauth2.googleapis.com/token), form-encoded
--   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>
--   → {"access_token": "...", "expires_in": 3599, "token_type": "Bearer"}.
-- Scripts do no I/O: `access_token` returns a `token_request` for prepare(ctx) to return; the
-- gateway makes the call (public hosts only unless allowed with --allow-host, 64 KiB, the image
-- fetch timeout) and runs prepare again with ctx.token_response. The token is kept in gw.store
-- until five minutes before it expires, under a key derived from the whole JSON key (a different
-- private key for the same account never gets another's token).
local M = {}

local SCOPE = "https://www.googleapis.com/auth/cloud-platform"
local DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
local GRANT = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

local function refuse(setting, message)
  error({ status = 400, type = "invalid_request_error", code = "invalid_service_account",
          param = setting, message = message })
end

local function unauthorized(message)
  error({ status = 401, type = "authentication_error", code = "token_exchange_failed", message = message })
end

-- The parsed key, or a 400 naming what is missing. `setting` names where the key came from.
function M.service_account(text, setting)
  local ok, key = pcall(gw.json.decode, text)
  if not ok or type(key) ~= "table" then
    refuse(setting, setting .. " is not a JSON object (a service account key file's contents)")
  end
  if key.type ~= nil and key.type ~= "service_account" then
    refuse(setting, setting .. " has type '" .. tostring(key.type) .. "'; only service_account keys are exchanged")
  end
  for _, field in ipairs({ "client_email", "private_key" }) do
    if type(key[field]) ~= "string" or key[field] == "" then
      refuse(setting, setting .. " has no '" .. field .. "'")
    end
  end
  if key.token_uri ~= nil and (type(key.token_uri) ~= "string" or not key.token_uri:match("^https?://")) then
    refuse(setting, setting .. "'s token_uri is not an http(s) URL")
  end
  return key
end

local function form_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- The access token for the key, or nil and the table prepare(ctx) must return to get it.
function M.access_token(ctx, text, setting)
  local key = M.service_account(text, setting)
  local token_uri = key.token_uri or DEFAULT_TOKEN_URI
  local cache_key = "google-sa-token:" .. gw.hex(gw.sha256(text))
  local cached = gw.store.get(cache_key)
  if cached then return cached end

  local res = ctx.token_response
  if res then
    local body = type(res.body) == "table" and res.body or {}
    if res.status ~= 200 or type(body.access_token) ~= "string" or body.access_token == "" then
      -- Google answers {"error": "invalid_grant", "error_description": "..."}.
      local why = type(body.error_description) == "string" and body.error_description
        or type(body.error) == "string" and body.error or ("HTTP " .. tostring(res.status))
      unauthorized("the service account " .. key.client_email .. " could not get an access token: " .. why)
    end
    local lifetime = math.tointeger(body.expires_in) or 3600
    gw.store.put(cache_key, body.access_token, math.max(lifetime - 300, 60))
    return body.access_token
  end

  local now = math.floor(gw.time())
  local header = { alg = "RS256", typ = "JWT" }
  if type(key.private_key_id) == "string" and key.private_key_id ~= "" then header.kid = key.private_key_id end
  local claims = { iss = key.client_email, scope = SCOPE, aud = token_uri, iat = now, exp = now + 3600 }
  local signing_input = gw.base64.url_encode(gw.json.encode(header)) .. "." .. gw.base64.url_encode(gw.json.encode(claims))
  local signed, signature = pcall(gw.crypto.rsa_sha256_sign, key.private_key, signing_input)
  if not signed then
    refuse(setting, setting .. "'s private_key could not sign: " .. tostring(signature):gsub("^.-crypto: ", ""))
  end
  local assertion = signing_input .. "." .. gw.base64.url_encode(signature)
  return nil, { token_request = {
    url = token_uri,
    method = "POST",
    headers = { ["content-type"] = "application/x-www-form-urlencoded", accept = "application/json" },
    body = "grant_type=" .. GRANT .. "&assertion=" .. form_escape(assertion),
  } }
end

return M
