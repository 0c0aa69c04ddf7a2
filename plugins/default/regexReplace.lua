-- default.regexReplace (mutator): every match of `rule` in the text is replaced by `redactText`
-- ("[REDACTED]" by default). Passes unless `failOnDetection` is set and something matched.
-- Each text piece (a string content, or each text part) is rewritten on its own (hook_text.map).
local hook_text = require("hook_text")
local util = require("check_util")

return {
  description = "Replace every match of a regex pattern in the request or response text",
  parameters = {
    rule = "string", redactText = "string?", failOnDetection = "boolean?", flags = "string?", failOnError = "boolean?",
  },
  check = function(ctx, params, event)
    local rule = params.rule
    if rule == "" then error("Missing regex pattern", 0) end
    util.text(ctx, event)
    local redact = params.redactText or "[REDACTED]"
    local flags = "g" .. (params.flags or ""):gsub("g", "")
    local matches = 0
    local transformed_data, changed = hook_text.map(ctx, event, function(piece)
      local replaced, count = gw.regex.gsub(rule, piece, redact, flags)
      matches = matches + count
      return replaced
    end)
    local verdict = not (params.failOnDetection == true and matches > 0)
    local explanation
    if matches > 0 then
      explanation = string.format("Pattern '%s' matched and was replaced with '%s'", rule, redact)
    else
      explanation = string.format("The regex pattern '%s' did not match any text.", rule)
    end
    return {
      verdict = verdict,
      data = { regexPattern = rule, verdict = verdict, explanation = explanation, matches = matches },
      transformed = changed,
      transformed_data = transformed_data,
    }
  end,
}
