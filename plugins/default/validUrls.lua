-- default.validUrls: every http(s) URL in the text is syntactically valid (scheme, host name with
-- a TLD, IPv4 or [IPv6] literal or localhost, optional port 1-65535, no spaces or control
-- characters). Portkey fetches each URL (or resolves its host with `onlyDNS`); Switchboard's checks
-- do not reach the network, so this is a syntax check in both modes and `data.checked` says so.
-- Trailing sentence punctuation (".", ",", ")", ...) is not part of a URL. No URL at all passes.
local util = require("check_util")

local function valid_ipv4(host)
  local parts = { host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do
    if #p > 3 or tonumber(p) > 255 or (#p > 1 and p:sub(1, 1) == "0") then return false end
  end
  return true
end

local function valid_ipv6(host)
  if not host:match("^[%x:%.]+$") then return false end
  local double = select(2, host:gsub("::", ""))
  if double > 1 then return false end
  local groups = 0
  for group in host:gmatch("[^:]+") do
    if group:find("%.") then
      if not valid_ipv4(group) then return false end
      groups = groups + 2
    else
      if #group > 4 then return false end
      groups = groups + 1
    end
  end
  return (double == 1 and groups < 8) or (double == 0 and groups == 8)
end

local function valid_hostname(host)
  if host == "localhost" then return true end
  if #host > 253 then return false end
  local labels = {}
  for label in (host .. "."):gmatch("([^%.]*)%.") do labels[#labels + 1] = label end
  if #labels < 2 then return false end
  for _, label in ipairs(labels) do
    if #label == 0 or #label > 63 then return false end
    if not label:match("^[%w%-]+$") and not label:match("^xn%-%-") then return false end
    if label:sub(1, 1) == "-" or label:sub(-1) == "-" then return false end
  end
  local tld = labels[#labels]
  return tld:match("^%a%a+$") ~= nil or tld:match("^xn%-%-[%w%-]+$") ~= nil
end

local function check_url(url)
  local scheme, rest = url:match("^(https?)://(.*)$")
  if not scheme then return false, "not an http(s) URL" end
  local authority = rest:match("^([^/%?#]*)")
  local after = rest:sub(#authority + 1)
  if after:find("[%c ]") then return false, "control characters or spaces in the path" end
  if authority:find("@") then authority = authority:match("@([^@]*)$") end
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([^%]]+)%](.*)$")
    if not host or not valid_ipv6(host) then return false, "invalid IPv6 literal" end
  else
    host, port = authority:match("^([^:]*)(.*)$")
    host = host:lower()
    if host == "" then return false, "no host" end
    if host:match("^[%d%.]+$") then
      if not valid_ipv4(host) then return false, "invalid IPv4 address" end
    elseif not valid_hostname(host) then
      return false, "invalid host name '" .. host .. "'"
    end
  end
  if port ~= "" then
    local digits = port:match("^:(%d+)$")
    if not digits or tonumber(digits) < 1 or tonumber(digits) > 65535 then return false, "invalid port" end
  end
  return true
end

return {
  description = "Checks that every URL in the text is a syntactically valid http(s) URL (no network access)",
  parameters = { onlyDNS = "boolean?", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local text = util.text(ctx, event)
    local urls, valid, invalid = gw.json.array({}), gw.json.array({}), gw.json.array({})
    for url in text:gmatch("https?://[^%s]+") do
      url = url:gsub("[%.,;:!%?%)%]}'\"]+$", "")
      urls[#urls + 1] = url
      local ok, why = check_url(url)
      if ok then valid[#valid + 1] = url else invalid[#invalid + 1] = { url = url, reason = why } end
    end
    local all_valid = #invalid == 0
    local negate = params["not"] == true
    local verdict = all_valid ~= negate
    local explanation
    if #urls == 0 then
      explanation = "No URLs found in the text."
    elseif all_valid then
      explanation = "All " .. #urls .. " URLs are syntactically valid."
    else
      explanation = #invalid .. " of " .. #urls .. " URLs are not valid: " .. invalid[1].url .. " (" .. invalid[1].reason .. ")"
    end
    return { verdict = verdict,
             data = { urls = urls, validURLs = valid, invalidURLs = invalid, ["not"] = negate, checked = "syntax",
                      explanation = explanation } }
  end,
}
