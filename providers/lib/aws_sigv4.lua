-- AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
-- on the host's sha256/hmac. Used by the bedrock provider; usable by any AWS provider.
--
--   local sigv4 = require("aws_sigv4")
--   local headers = sigv4.sign {
--     method = "POST", host = "bedrock-runtime.us-east-1.amazonaws.com", path = "/model/x/converse",
--     query = "", payload = body_string, region = "us-east-1", service = "bedrock",
--     access_key = "...", secret_key = "...", session_token = nil, time = gw.time(),
--   }
-- returns the headers to send: authorization, x-amz-date, host and, with a session token,
-- x-amz-security-token (x-amz-content-sha256 too with sign_content_sha256 = true, as S3 needs).
local M = {}

-- RFC 3986 unreserved characters stay; everything else is %XX (uppercase), as SigV4 requires.
function M.uri_encode(text, keep_slash)
  return (text:gsub("[^%w%-%._~" .. (keep_slash and "/" or "") .. "]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

-- UTC "YYYYMMDDTHHMMSSZ" from epoch seconds (the sandbox has no os.date).
function M.amz_date(epoch)
  local seconds = math.floor(epoch)
  local days, rest = seconds // 86400, seconds % 86400
  -- Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  local z = days + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format("%04d%02d%02dT%02d%02d%02dZ", y, m, d, rest // 3600, rest % 3600 // 60, rest % 60)
end

local function canonical_query(query)
  if query == nil or query == "" then return "" end
  local pairs_ = {}
  for pair in query:gmatch("[^&]+") do
    local key, value = pair:match("^([^=]*)=?(.*)$")
    pairs_[#pairs_ + 1] = { M.uri_encode(key), M.uri_encode(value) }
  end
  table.sort(pairs_, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
  local out = {}
  for i, p in ipairs(pairs_) do out[i] = p[1] .. "=" .. p[2] end
  return table.concat(out, "&")
end

function M.sign(request)
  local amz_date = request.amz_date or M.amz_date(request.time or gw.time())
  local date = amz_date:sub(1, 8)
  local payload_hash = gw.hex(gw.sha256(request.payload or ""))
  local headers = { host = request.host, ["x-amz-date"] = amz_date }
  if request.sign_content_sha256 then headers["x-amz-content-sha256"] = payload_hash end
  if request.session_token and request.session_token ~= "" then
    headers["x-amz-security-token"] = request.session_token
  end
  for name, value in pairs(request.extra_headers or {}) do headers[name:lower()] = value end
  local names = {}
  for name in pairs(headers) do names[#names + 1] = name end
  table.sort(names)
  local canonical_headers = {}
  for i, name in ipairs(names) do
    canonical_headers[i] = name .. ":" .. tostring(headers[name]):gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
  end
  local signed_headers = table.concat(names, ";")
  local canonical_request = table.concat({
    request.method,
    request.canonical_path or request.path,
    canonical_query(request.query),
    table.concat(canonical_headers, "\n") .. "\n",
    signed_headers,
    payload_hash,
  }, "\n")
  local scope = date .. "/" .. request.region .. "/" .. request.service .. "/aws4_request"
  local string_to_sign = "AWS4-HMAC-SHA256\n" .. amz_date .. "\n" .. scope .. "\n" ..
    gw.hex(gw.sha256(canonical_request))
  local key = gw.hmac_sha256("AWS4" .. request.secret_key, date)
  key = gw.hmac_sha256(key, request.region)
  key = gw.hmac_sha256(key, request.service)
  key = gw.hmac_sha256(key, "aws4_request")
  local signature = gw.hex(gw.hmac_sha256(key, string_to_sign))
  headers.authorization = "AWS4-HMAC-SHA256 Credential=" .. request.access_key .. "/" .. scope ..
    ", SignedHeaders=" .. signed_headers .. ", Signature=" .. signature
  return headers, canonical_request
end

return M
