-- default.sentenceCount: the number of sentences (as Portkey counts them: the number of '.', '!'
-- and '?' characters) is within [minSentences, maxSentences] (defaults 0 and 99999).
local util = require("check_util")

return {
  description = "Checks if the content contains a certain number of sentences. Ranges allowed.",
  parameters = { minSentences = "integer?", maxSentences = "integer?", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local min = util.integer_param(params, "minSentences", 0)
    local max = util.integer_param(params, "maxSentences", 99999)
    local text = util.text(ctx, event)
    local _, count = text:gsub("[%.!%?]", "")
    return util.range_result(count, min, max, params["not"] == true, "sentences", text,
      { sentenceCount = count, minSentences = min, maxSentences = max })
  end,
}
