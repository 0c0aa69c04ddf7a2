-- default.endsWith: the text ends with `suffix` (or with `suffix` followed by a period, as Portkey
-- allows), or does not with `not: true`.
local util = require("check_util")

local function ends(text, suffix)
  return #text >= #suffix and text:sub(-#suffix) == suffix
end

return {
  description = "Check if the text ends with a given suffix",
  parameters = { suffix = "string", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local suffix = params.suffix
    if suffix == "" then error("Missing or empty suffix", 0) end
    local text = util.text(ctx, event)
    local with_period = ends(text, suffix .. ".")
    local does = ends(text, suffix) or with_period
    local negate = params["not"] == true
    local verdict = does ~= negate
    local explanation
    if verdict then
      explanation = negate and string.format('The text does not end with "%s" as expected.', suffix)
        or string.format('The text ends with "%s"%s.', suffix, with_period and " (including trailing period)" or "")
    else
      explanation = negate and string.format('The text ends with "%s" when it should not.', suffix)
        or string.format('The text does not end with "%s".', suffix)
    end
    return { verdict = verdict,
             data = { suffix = suffix, ["not"] = negate, verdict = verdict, explanation = explanation,
                      textExcerpt = util.excerpt(text) } }
  end,
}
