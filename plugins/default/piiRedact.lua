-- default.piiRedact (mutator, Switchboard's own): replaces personal data in the text.
--   kinds        which to find (default all): "email", "phone", "card" (13-19 digits passing the
--                Luhn check), "iban" (passing the ISO 13616 mod-97 check), "ipv4", "ipv6", "ip" (both)
--   replacement  the text put instead (default "[{KIND}]": "[EMAIL]", "[CARD]", ...); "{kind}" and
--                "{KIND}" are replaced by the kind's name in lower / upper case
--   failOnDetection  fail the check (after redacting) when anything was found (default false)
-- Numbers are checked before they are replaced: a 16-digit order number that fails Luhn stays.
-- Kinds run in a fixed order (email, iban, card, ipv6, ipv4, phone) so a card or an IP is not
-- taken for a phone number. Each text piece is rewritten on its own (hook_text.map).
local hook_text = require("hook_text")

local ORDER = { "email", "iban", "card", "ipv6", "ipv4", "phone" }
local KNOWN = { email = true, phone = true, card = true, iban = true, ipv4 = true, ipv6 = true, ip = true }

local function luhn(digits)
  local sum, double = 0, false
  for i = #digits, 1, -1 do
    local d = digits:byte(i) - 48
    if double then d = d * 2; if d > 9 then d = d - 9 end end
    sum = sum + d
    double = not double
  end
  return sum % 10 == 0
end

local function iban_ok(compact)
  if #compact < 15 or #compact > 34 or not compact:match("^%u%u%d%d[%u%d]+$") then return false end
  local rearranged = compact:sub(5) .. compact:sub(1, 4)
  local remainder = 0
  for c in rearranged:gmatch(".") do
    local value = c:match("%d") and (c:byte() - 48) or (c:byte() - 55)
    if value >= 10 then remainder = (remainder * 100 + value) % 97 else remainder = (remainder * 10 + value) % 97 end
  end
  return remainder == 1
end

local function ipv4_ok(text)
  local parts = { text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
  if #parts ~= 4 then return false end
  for _, p in ipairs(parts) do if #p > 3 or tonumber(p) > 255 then return false end end
  return true
end

local function ipv6_ok(text)
  local double = select(2, text:gsub("::", ""))
  if double > 1 or text:find(":::", 1, true) then return false end
  local groups = 0
  for group in text:gmatch("[^:]+") do
    if #group > 4 then return false end
    groups = groups + 1
  end
  if groups == 0 then return false end
  return (double == 1 and groups < 8) or (double == 0 and groups == 8)
end

-- Each match of `pattern` that `accept` (given the captures) approves is replaced: by `label` when
-- it answers true, by the string it answers otherwise. Returns the text and how many were replaced
-- (gsub's own count includes the matches left alone).
local function redact_where(text, label, pattern, accept)
  local count = 0
  local out = text:gsub(pattern, function(...)
    local replacement = accept(...)
    if not replacement then return nil end
    count = count + 1
    return replacement == true and label or replacement
  end)
  return out, count
end

local REDACTORS = {
  email = function(text, label)
    -- The frontier anchors each try at the start of a run: without it a long word with no "@"
    -- is re-scanned from every position (quadratic).
    return text:gsub("%f[%w%._%%%+%-][%w%._%%%+%-]+@[%w%-]+%.[%w%.%-]*%a%a", function() return label end)
  end,
  iban = function(text, label)
    return redact_where(text, label, "%u%u%d%d[%u%d ]+[%u%d]", function(candidate)
      -- Drop trailing groups (e.g. a following word) until the checksum holds.
      local try = candidate
      while #try >= 15 do
        if iban_ok((try:gsub(" ", ""))) then return label .. candidate:sub(#try + 1) end
        local shorter = try:match("^(.*%S)%s+%S+$")
        if not shorter then break end
        try = shorter
      end
      return nil
    end)
  end,
  card = function(text, label)
    return redact_where(text, label, "%d[%d %-]+%d", function(candidate)
      local digits = candidate:gsub("%D", "")
      return #digits >= 13 and #digits <= 19 and luhn(digits)
    end)
  end,
  ipv6 = function(text, label)
    -- Whole runs of hex digits and colons, each tried once (linear in the text).
    return redact_where(text, label, "%f[%x:]()([%x:]+)()", function(first, candidate, after)
      if select(2, candidate:gsub(":", "")) < 2 then return nil end
      -- Not inside a word ("std::vector" has "d::" but no address).
      local before_char, after_char = text:sub(first - 1, first - 1), text:sub(after, after)
      if before_char:find("[%w%.]") or after_char:find("%w") then return nil end
      if after_char == "." and text:sub(after + 1, after + 1):find("%d") then return nil end -- ::ffff:1.2.3.4
      return candidate:find("%x") ~= nil and ipv6_ok(candidate)
    end)
  end,
  ipv4 = function(text, label)
    return redact_where(text, label, "%f[%d%.]%d+%.%d+%.%d+%.%d+%f[^%d%.]", ipv4_ok)
  end,
  phone = function(text, label)
    return redact_where(text, label, "%+?%d[%d%s%.%-%(%)]+%d", function(candidate)
      local digits = candidate:gsub("%D", "")
      return #digits >= 7 and #digits <= 15
    end)
  end,
}

return {
  description = "Redacts e-mail addresses, phone numbers, card numbers (Luhn), IBANs (mod 97) and IP addresses",
  parameters = { kinds = "array?", replacement = "string?", failOnDetection = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local wanted = {}
    for i, kind in ipairs(params.kinds or ORDER) do
      if not KNOWN[kind] then
        error("kinds[" .. (i - 1) .. "]: unknown kind '" .. tostring(kind) .. "' (email, phone, card, iban, ipv4, ipv6, ip)", 0)
      end
      if kind == "ip" then wanted.ipv4 = true; wanted.ipv6 = true else wanted[kind] = true end
    end
    local format = params.replacement or "[{KIND}]"
    local found = {}
    if hook_text.text(ctx, event) == nil then
      return { verdict = true, data = { explanation = "No text to redact.", found = found } }
    end
    local transformed_data, changed = hook_text.map(ctx, event, function(piece)
      for _, kind in ipairs(ORDER) do
        if wanted[kind] then
          local label = format:gsub("{kind}", kind):gsub("{KIND}", kind:upper())
          local count
          piece, count = REDACTORS[kind](piece, label)
          if count > 0 then found[kind] = (found[kind] or 0) + count end
        end
      end
      return piece
    end)
    local total = 0
    for _, n in pairs(found) do total = total + n end
    local verdict = not (params.failOnDetection == true and total > 0)
    local explanation = total > 0 and ("Redacted " .. total .. " item(s) of personal data.") or "No personal data found."
    return { verdict = verdict, data = { explanation = explanation, found = found }, transformed = changed,
             transformed_data = transformed_data }
  end,
}
