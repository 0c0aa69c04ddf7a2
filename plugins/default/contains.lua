-- default.contains: does the text contain any / all / none of `words` (case-sensitive substrings)?
local util = require("check_util")

return {
  description = "Checks if the content contains any, all or none of the words or phrases",
  parameters = { words = "array", operator = "string?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local operator = params.operator or "any"
    if operator ~= "any" and operator ~= "all" and operator ~= "none" then
      error("operator must be one of any, all, none (got '" .. tostring(operator) .. "')", 0)
    end
    local text = util.text(ctx, event)
    local found, missing = gw.json.array({}), gw.json.array({})
    for i, word in ipairs(params.words) do
      if type(word) ~= "string" then error("words[" .. (i - 1) .. "] must be a string", 0) end
      if text:find(word, 1, true) then found[#found + 1] = word else missing[#missing + 1] = word end
    end
    local verdict
    if operator == "any" then verdict = #found > 0
    elseif operator == "all" then verdict = #missing == 0
    else verdict = #found == 0 end
    local explanation
    if operator == "none" then
      explanation = verdict and "None of the words were found." or ("Found words that must not appear: " .. table.concat(found, ", "))
    elseif operator == "all" then
      explanation = verdict and "All the words were found." or ("Missing words: " .. table.concat(missing, ", "))
    else
      explanation = verdict and ("Found: " .. table.concat(found, ", ")) or "None of the words were found."
    end
    return {
      verdict = verdict,
      data = { operator = operator, foundWords = found, missingWords = missing, explanation = explanation,
               textExcerpt = util.excerpt(text) },
    }
  end,
}
