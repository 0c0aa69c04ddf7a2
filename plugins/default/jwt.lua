-- default.jwt (before-request): the request carries a valid JWT in `headerKey` (default
-- "Authorization", "Bearer " optional). HS256 is verified with `secret` (gw.hmac_sha256), RS256
-- with `publicKey` (PEM) or the key of `jwks` ({"keys":[JWK,...]}, picked by the token's `kid`;
-- a single key is used when the token has no kid) through gw.crypto.rsa_sha256_verify.
-- Claims: `exp` and `nbf` with `clockTolerance` seconds (default 5), and `iat` no older than
-- `maxTokenAge` ("1d" by default, as Portkey; "30s", "15m", "12h", "7d", "2w").
--
-- Stricter than Portkey: Portkey fetches `jwksUri`; checks here never reach the network, so a
-- `jwksUri` is refused (by `validate` when the config is parsed, and the check fails closed if it
-- ever runs with one) — give the keys inline with `jwks`, `publicKey` or `secret`.
-- A missing or bad token, and any error while verifying (a malformed key, a crypto failure), is a
-- failed verdict (never an error that would count as passed), so `deny: true` blocks it.

local ALGORITHMS = { HS256 = true, RS256 = true }
local NO_FETCH = "checks do not fetch: 'jwksUri' is not supported; give the keys inline with 'jwks' "
  .. "({\"keys\":[...]}), 'publicKey' (a PEM public key) or 'secret' (HS256)"

local function b64url(text)
  local decode = gw.base64.url_decode or gw.base64.decode
  return decode(text)
end

local function same_bytes(a, b)
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = diff | (a:byte(i) ~ b:byte(i)) end
  return diff == 0
end

local UNITS = { s = 1, sec = 1, secs = 1, second = 1, seconds = 1, m = 60, min = 60, mins = 60, minute = 60,
  minutes = 60, h = 3600, hr = 3600, hrs = 3600, hour = 3600, hours = 3600, d = 86400, day = 86400, days = 86400,
  w = 604800, week = 604800, weeks = 604800 }

local function seconds_of(span)
  if type(span) == "number" then return span end
  local amount, unit = tostring(span):lower():match("^%s*(%d+%.?%d*)%s*(%a+)%s*$")
  if not amount or not UNITS[unit] then
    error("maxTokenAge must be a duration such as '30s', '15m', '12h', '1d', got '" .. tostring(span) .. "'", 0)
  end
  return tonumber(amount) * UNITS[unit]
end

local function validate(params)
  if params.jwksUri ~= nil then error(NO_FETCH, 0) end
  if params.jwks == nil and params.publicKey == nil and params.secret == nil then
    error("give the verification key: 'jwks', 'publicKey' or 'secret'", 0)
  end
  if params.jwks ~= nil and (type(params.jwks) ~= "table" or type(params.jwks.keys) ~= "table") then
    error("'jwks' must be a JWK set: {\"keys\": [...]}", 0)
  end
  for _, alg in ipairs(params.algorithms or {}) do
    if not ALGORITHMS[alg] then error("algorithm '" .. tostring(alg) .. "' is not supported (HS256, RS256)", 0) end
  end
  seconds_of(params.maxTokenAge or "1d")
end

local function fail(explanation)
  return { verdict = false, data = { verdict = false, explanation = explanation } }
end

local function rsa_key(params, header)
  if params.jwks then
    local keys = params.jwks.keys
    if header.kid ~= nil then
      for _, key in ipairs(keys) do
        if type(key) == "table" and key.kid == header.kid then return key end
      end
      return nil, "No matching key found for kid"
    end
    if #keys == 1 then return keys[1] end
    return nil, "the token has no kid and the JWK set has " .. #keys .. " keys"
  end
  if params.publicKey then return params.publicKey end
  return nil, "no RSA key is configured (jwks or publicKey) for an RS256 token"
end

local function verify(ctx, params)
  local ok, problem = pcall(validate, params)
  if not ok then return fail("JWT validation error: " .. problem) end
  local name = (params.headerKey or "Authorization"):lower()
  local value = ctx.request.headers[name]
  if type(value) ~= "string" or value == "" then return fail("Missing authorization header") end
  local token = value:gsub("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+", ""):match("^%s*(.-)%s*$")
  local h64, p64, s64 = token:match("^([%w_%-]+)%.([%w_%-]+)%.([%w_%-]*)$")
  if not h64 then return fail("JWT validation error: not a JWS compact token") end
  local header_ok, header = pcall(gw.json.decode, b64url(h64) or "")
  local payload_ok, payload = pcall(gw.json.decode, b64url(p64) or "")
  if not header_ok or type(header) ~= "table" then return fail("JWT validation error: the header is not JSON") end
  if not payload_ok or type(payload) ~= "table" then return fail("JWT validation error: the payload is not JSON") end
  local alg = header.alg
  local allowed = {}
  for _, a in ipairs(params.algorithms or { "HS256", "RS256" }) do allowed[a] = true end
  if not ALGORITHMS[alg] or not allowed[alg] then
    return fail("JWT validation error: algorithm '" .. tostring(alg) .. "' is not allowed")
  end
  local signature = b64url(s64)
  if not signature or signature == "" then return fail("JWT validation error: signature missing") end
  local signed = h64 .. "." .. p64
  local good
  if alg == "HS256" then
    if not params.secret then return fail("JWT validation error: no secret is configured for an HS256 token") end
    good = same_bytes(gw.hmac_sha256(params.secret, signed), signature)
  else
    local key, why = rsa_key(params, header)
    if not key then return fail(why) end
    if type(key) == "table" and key.kty ~= nil and key.kty ~= "RSA" then
      return fail("JWT validation error: key type '" .. tostring(key.kty) .. "' cannot verify RS256")
    end
    if type(key) == "table" then
      if type(key.n) ~= "string" or type(key.e) ~= "string" then
        return fail("JWT validation error: the JWK has no RSA modulus and exponent (n, e)")
      end
      key = { n = key.n, e = key.e }
    end
    good = gw.crypto.rsa_sha256_verify(key, signed, signature)
  end
  if not good then return fail("JWT validation error: signature verification failed") end
  local now = gw.time()
  local tolerance = params.clockTolerance or 5
  if payload.exp ~= nil then
    if type(payload.exp) ~= "number" then return fail('JWT validation error: "exp" claim must be a number') end
    if now - tolerance >= payload.exp then return fail('JWT validation error: "exp" claim timestamp check failed') end
  end
  if payload.nbf ~= nil then
    if type(payload.nbf) ~= "number" then return fail('JWT validation error: "nbf" claim must be a number') end
    if now + tolerance < payload.nbf then return fail('JWT validation error: "nbf" claim timestamp check failed') end
  end
  local max_age = seconds_of(params.maxTokenAge or "1d")
  if type(payload.iat) ~= "number" then return fail('JWT validation error: "iat" claim must be a number') end
  if now - payload.iat - tolerance > max_age then
    return fail('JWT validation error: "iat" claim timestamp check failed (too far in the past)')
  end
  return { verdict = true, data = { verdict = true, explanation = "JWT token validation succeeded",
                                    algorithm = alg, kid = header.kid or gw.json.null } }
end

return {
  description = "Verifies a JWT (HS256 or RS256, keys given inline) in a request header",
  events = { "beforeRequestHook" },
  parameters = {
    headerKey = "string?", jwks = "object?", publicKey = "string?", secret = "string?", algorithms = "array?",
    clockTolerance = "number?", maxTokenAge = "any?", jwksUri = "string?", failOnError = "boolean?",
  },
  validate = validate,
  check = function(ctx, params)
    -- An authentication check fails closed: any error (a malformed key, a crypto failure) is a
    -- failed verdict with its reason, not an error that the failOnError rule would count as passed.
    local ok, result = pcall(verify, ctx, params)
    if ok then return result end
    return fail("JWT validation error: " .. tostring(result))
  end,
}
