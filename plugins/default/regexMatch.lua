-- default.regexMatch: passes when the text matches `rule` (a JavaScript regex source, as Portkey's
-- `new RegExp(rule)`), or when it does not with `not: true`.
local util = require("check_util")

return {
  description = "Check if the request or response text matches a regex pattern",
  parameters = { rule = "string", ["not"] = "boolean?", flags = "string?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local rule = params.rule
    if rule == "" then error("Missing regex pattern", 0) end
    local text = util.text(ctx, event)
    local flags = params.flags or ""
    local matched = gw.regex.test(rule, text, flags)
    -- The span is a detail: gw.regex.find refuses the few patterns whose JavaScript span the
    -- linear engine cannot give, and that must not turn a verdict into an error.
    local first, last
    if matched then
      local ok, s, e = pcall(gw.regex.find, rule, text, flags)
      if ok then first, last = s, e end
    end
    local negate = params["not"] == true
    local verdict = matched ~= negate
    local explanation
    if matched then
      explanation = string.format("The regex pattern '%s' successfully matched the text.", rule)
    else
      explanation = string.format("The regex pattern '%s' did not match the text.", rule)
    end
    if negate then
      explanation = explanation .. (verdict and " (not: passes because it did not match)" or " (not: fails because it matched)")
    end
    return {
      verdict = verdict,
      data = {
        regexPattern = rule,
        ["not"] = negate,
        verdict = verdict,
        explanation = explanation,
        matchDetails = first and { matchedText = text:sub(first, last), index = first - 1 } or gw.json.null,
        textExcerpt = util.excerpt(text),
      },
    }
  end,
}
