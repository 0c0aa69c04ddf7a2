-- default.jsonSchema: the JSON found in the text (``` code blocks first, else {...} objects)
-- validates against `schema` (JSON Schema 2020-12; see plugins/lib/json_schema.lua for the
-- keywords). The first candidate that validates wins; otherwise the first one's errors are shown.
local util = require("check_util")
local json_schema = require("json_schema")

return {
  description = "Check if the JSON in the text matches a JSON schema",
  parameters = { schema = "object", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local schema = params.schema
    local negate = params["not"] == true
    local text = util.text(ctx, event)
    local best
    for _, value in ipairs(util.json_candidates(text)) do
      local valid, errors = json_schema.validate(schema, value)
      if valid or not best then best = { json = value, valid = valid, errors = errors } end
      if valid then break end
    end
    if not best then
      return { verdict = false, data = { explanation = "No valid JSON found in the response.", ["not"] = negate } }
    end
    local verdict = best.valid ~= negate
    local explanation
    if verdict then
      explanation = negate and "Successfully validated JSON does not match the schema as expected."
        or "Successfully validated JSON against the provided schema."
    else
      explanation = negate and "JSON matches the schema when it should not."
        or "Failed to validate JSON against the provided schema."
    end
    return {
      verdict = verdict,
      data = { matchedJson = best.json, ["not"] = negate, explanation = explanation,
               validationErrors = gw.json.array(best.errors) },
    }
  end,
}
