-- default.alllowercase: every ASCII letter of the text is lowercase (other characters are ignored, as
-- in Portkey), or, with `not: true`, at least one is not.
local util = require("check_util")

return {
  description = "Checks if content has all lowercase letters",
  parameters = { ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local text = util.text(ctx, event)
    local all = text:find("%u") == nil
    local negate = params["not"] == true
    local verdict = all ~= negate
    local explanation
    if verdict then
      explanation = negate and "The text contains uppercase characters as expected."
        or "All alphabetic characters in the text are lowercase."
    else
      explanation = negate and "All alphabetic characters in the text are lowercase when they should not be."
        or "The text contains uppercase characters."
    end
    return { verdict = verdict,
             data = { verdict = verdict, ["not"] = negate, explanation = explanation, textExcerpt = util.excerpt(text) } }
  end,
}
