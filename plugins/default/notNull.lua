-- default.notNull: the text is present and not blank (a response with no content, e.g. only tool
-- calls or an empty string, fails), or, with `not: true`, it is null or blank.
local hook_text = require("hook_text")

return {
  description = "Checks that the request or response text is not null or empty",
  parameters = { ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local text = hook_text.text(ctx, event)
    local present = type(text) == "string" and text:find("%S") ~= nil
    local negate = params["not"] == true
    local verdict = present ~= negate
    local explanation
    if present then
      explanation = negate and "The content is not empty when it should be." or "The content is not null or empty."
    else
      explanation = negate and "The content is null or empty as expected." or "The content is null or empty."
    end
    return { verdict = verdict, data = { verdict = verdict, ["not"] = negate, explanation = explanation } }
  end,
}
