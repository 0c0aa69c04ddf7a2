-- default.wordCount: the number of words (runs of non-space, as Portkey's text.trim().split(/\s+/))
-- is within [minWords, maxWords] (defaults 0 and 99999), or outside it with `not: true`.
local util = require("check_util")

return {
  description = "Checks if the content contains a certain number of words. Ranges allowed.",
  parameters = { minWords = "integer?", maxWords = "integer?", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local min = util.integer_param(params, "minWords", 0)
    local max = util.integer_param(params, "maxWords", 99999)
    local text = util.text(ctx, event)
    local count = 0
    for _ in text:gmatch("%S+") do count = count + 1 end
    if count == 0 then error("Missing text to analyze", 0) end
    return util.range_result(count, min, max, params["not"] == true, "words", text,
      { wordCount = count, minWords = min, maxWords = max })
  end,
}
