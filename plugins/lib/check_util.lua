-- Small helpers the default checks share (text with Portkey's error when missing, count ranges,
-- JSON found in free text). Checks stay one file each; what two checks need lives here.

local hook_text = require("hook_text")

local M = {}

M.excerpt = hook_text.excerpt

--- The text the check of `event` reads; raises Portkey's "Missing text to analyze" when empty.
function M.text(ctx, event)
  local text = hook_text.text(ctx, event)
  if type(text) ~= "string" or text == "" then error("Missing text to analyze", 0) end
  return text
end

--- `value` when it is an integer, else `default`; raises when it is something else.
function M.integer_param(params, name, default)
  local value = params[name]
  if value == nil then return default end
  if math.type(value) == "float" and value == math.floor(value) then value = math.tointeger(value) end
  if math.type(value) ~= "integer" then error(name .. " must be an integer", 0) end
  return value
end

--- A range verdict with Portkey's wording: "The text contains N words, which is within ...".
function M.range_result(count, min, max, negate, unit, text, extra)
  local in_range = count >= min and count <= max
  local verdict = in_range
  if negate then verdict = not in_range end
  local where = in_range and "within" or "outside"
  local explanation = string.format("The text contains %d %s, which is %s the specified range of %d-%d %s", count,
    unit, where, min, max, unit)
  if negate then
    explanation = explanation .. (verdict and " as expected." or " when it should not be.")
  else
    explanation = explanation .. "."
  end
  local data = extra or {}
  data["not"] = negate
  data.verdict = verdict
  data.explanation = explanation
  data.textExcerpt = M.excerpt(text)
  return { verdict = verdict, data = data }
end

M.MAX_CANDIDATES = 50

-- JSON values found in free text, in order: the contents of ``` code blocks (```json or bare),
-- else every balanced {...} object (Portkey takes the shortest {...}; a balanced scan also finds
-- nested objects). Only what decodes is returned.
function M.json_candidates(text)
  local found = {}
  for body in text:gmatch("```+%w*%s*(.-)```+") do
    local ok, value = pcall(gw.json.decode, body)
    if ok and value ~= nil then found[#found + 1] = value end
  end
  if #found > 0 then return found end
  -- Balanced-brace scan that jumps between the characters that matter ({ } " \), so a long
  -- answer costs one pass per candidate; at most MAX_CANDIDATES objects are tried.
  local i, tried = 1, 0
  while tried < M.MAX_CANDIDATES do
    local start = text:find("{", i, true)
    if not start then break end
    local depth, j, in_string = 0, start, false
    local stop
    while true do
      j = text:find(in_string and '["\\]' or '[{}"]', j)
      if not j then break end
      local c = text:sub(j, j)
      if in_string then
        if c == "\\" then j = j + 1 elseif c == '"' then in_string = false end
      elseif c == '"' then in_string = true
      elseif c == "{" then depth = depth + 1
      else
        depth = depth - 1
        if depth == 0 then stop = j break end
      end
      j = j + 1
    end
    if not stop then break end
    tried = tried + 1
    local ok, value = pcall(gw.json.decode, text:sub(start, stop))
    if ok and type(value) == "table" then
      found[#found + 1] = value
      i = stop + 1
    else
      i = start + 1
    end
  end
  return found
end

--- A list parameter given as an array or a comma-separated string (allowedRequestTypes).
function M.list(value)
  if type(value) == "string" then
    local out = {}
    for item in value:gmatch("[^,]+") do
      local trimmed = item:match("^%s*(.-)%s*$")
      if trimmed ~= "" then out[#out + 1] = trimmed end
    end
    return out
  end
  if type(value) == "table" then return value end
  return {}
end

function M.contains(list, value)
  for _, item in ipairs(list) do
    if item == value then return true end
  end
  return false
end

-- default.alllowercase / default.alluppercase: every ASCII letter of the text is in `case`
-- ("lower" or "upper"; other characters are ignored, as in Portkey), or, with `not: true`, at
-- least one is not. One builder for both checks.
function M.letter_case_check(case)
  local other = case == "lower" and "upper" or "lower"
  local other_class = case == "lower" and "%u" or "%l"
  return {
    description = "Checks if content has all " .. case .. "case letters",
    parameters = { ["not"] = "boolean?", failOnError = "boolean?" },
    check = function(ctx, params, event)
      local text = M.text(ctx, event)
      local all = text:find(other_class) == nil
      local negate = params["not"] == true
      local verdict = all ~= negate
      local explanation
      if verdict then
        explanation = negate and ("The text contains " .. other .. "case characters as expected.")
          or ("All alphabetic characters in the text are " .. case .. "case.")
      else
        explanation = negate and ("All alphabetic characters in the text are " .. case .. "case when they should not be.")
          or ("The text contains " .. other .. "case characters.")
      end
      return { verdict = verdict,
               data = { verdict = verdict, ["not"] = negate, explanation = explanation, textExcerpt = M.excerpt(text) } }
    end,
  }
end

return M
