-- default.jsonKeys: the JSON object found in the text (a ``` code block, else a {...} object) has
-- any / all / none of `keys` at its top level. The first object that satisfies the operator wins;
-- otherwise the one with the most keys present is reported.
local util = require("check_util")

local function explain(operator, present, missing, verdict)
  local found = #present > 0 and ("Found keys: [" .. table.concat(present, ", ") .. "]") or "No matching keys found"
  local lacking = #missing > 0 and ("Missing keys: [" .. table.concat(missing, ", ") .. "]") or "No missing keys"
  if operator == "any" then
    return verdict and ("Successfully found at least one required key. " .. found .. ".")
      or ("Failed to find any required keys. " .. lacking .. ".")
  elseif operator == "all" then
    return verdict and ("Successfully found all required keys. " .. found .. ".")
      or ("Failed to find all required keys. " .. lacking .. ".")
  end
  return verdict and ("Successfully verified no required keys are present. " .. lacking .. ".")
    or ("Found some keys that should not be present. " .. found .. ".")
end

return {
  description = "Check if the JSON in the text contains any, all or none of the mentioned keys",
  parameters = { keys = "array", operator = "string?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local operator = params.operator or "any"
    if operator ~= "any" and operator ~= "all" and operator ~= "none" then
      error('Invalid or missing operator (must be "any", "all", or "none")', 0)
    end
    local keys = params.keys
    if #keys == 0 then error("Missing or invalid keys array", 0) end
    local text = util.text(ctx, event)
    local best
    for _, value in ipairs(util.json_candidates(text)) do
      if type(value) == "table" and not gw.json.is_array(value) then
        local present, missing = gw.json.array({}), gw.json.array({})
        for _, key in ipairs(keys) do
          if value[key] ~= nil then present[#present + 1] = key else missing[#missing + 1] = key end
        end
        local verdict
        if operator == "any" then verdict = #present > 0
        elseif operator == "all" then verdict = #missing == 0
        else verdict = #present == 0 end
        if verdict or not best or #present > #best.present then
          best = { json = value, present = present, missing = missing, verdict = verdict }
        end
        if verdict then break end
      end
    end
    if not best then
      return { verdict = false, data = { explanation = "No valid JSON found in the text.", requiredKeys = keys,
                                         operator = operator, textExcerpt = util.excerpt(text) } }
    end
    return {
      verdict = best.verdict,
      data = { matchedJson = best.json, verdict = best.verdict, operator = operator,
               presentKeys = best.present, missingKeys = best.missing,
               explanation = explain(operator, best.present, best.missing, best.verdict),
               textExcerpt = util.excerpt(text) },
    }
  end,
}
