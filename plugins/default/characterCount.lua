-- default.characterCount: the text's length is within [minCharacters, maxCharacters] (defaults 0
-- and 9999999). Length counts as JavaScript does (UTF-16 code units: an emoji counts 2), so a
-- limit means the same as in Portkey.
local util = require("check_util")

local function js_length(text)
  local count = 0
  for _, code in utf8.codes(text, true) do
    count = count + (code > 0xFFFF and 2 or 1)
  end
  return count
end

return {
  description = "Checks if the content contains a certain number of characters. Ranges allowed.",
  parameters = { minCharacters = "integer?", maxCharacters = "integer?", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local min = util.integer_param(params, "minCharacters", 0)
    local max = util.integer_param(params, "maxCharacters", 9999999)
    local text = util.text(ctx, event)
    local count = js_length(text)
    return util.range_result(count, min, max, params["not"] == true, "characters", text,
      { characterCount = count, minCharacters = min, maxCharacters = max })
  end,
}
