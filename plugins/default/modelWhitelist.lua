-- default.modelWhitelist: the request's model is in `models`, or in the models of the
-- `metadataRules` whose `metadataKey` has one of `values` in the request's metadata (their union;
-- `models` is the fallback when no rule matches). With `not: true` the list is a block list.
local util = require("check_util")

local function as_strings(value)
  if type(value) == "table" and value[1] ~= nil then
    local out = {}
    for i, v in ipairs(value) do out[i] = tostring(v) end
    return out
  end
  if value == nil or value == gw.json.null then return {} end
  return { tostring(value) }
end

return {
  description = "Check if the model in the request is in the allowed list",
  events = { "beforeRequestHook" },
  parameters = { models = "array?", metadataRules = "array?", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params)
    local model = ctx.request.json and ctx.request.json.model or ctx.model
    if type(model) ~= "string" or model == "" then error("Missing model in request", 0) end
    local allowed, seen = gw.json.array({}), {}
    local rules = params.metadataRules
    local mode = (rules and #rules > 0) and "metadata_rules" or "base_models"
    for i, rule in ipairs(rules or {}) do
      if type(rule) ~= "table" or type(rule.metadataKey) ~= "string" or type(rule.values) ~= "table" then
        error("metadataRules[" .. (i - 1) .. "] needs metadataKey (string), values and models (arrays)", 0)
      end
      local wanted = as_strings(ctx.metadata[rule.metadataKey])
      local hit = false
      for _, v in ipairs(wanted) do
        if util.contains(as_strings(rule.values), v) then hit = true end
      end
      if hit then
        for _, m in ipairs(as_strings(rule.models)) do
          if not seen[m] then seen[m] = true; allowed[#allowed + 1] = m end
        end
      end
    end
    if #allowed == 0 and params.models then
      for _, m in ipairs(as_strings(params.models)) do allowed[#allowed + 1] = m end
    end
    if #allowed == 0 then error("Missing allowed models configuration", 0) end
    local in_list = util.contains(allowed, model)
    local negate = params["not"] == true
    local verdict = in_list ~= negate
    local explanation
    if verdict then
      explanation = negate and string.format('Model "%s" is not in the allowed list as expected.', model)
        or string.format('Model "%s" is allowed.', model)
    else
      explanation = negate and string.format('Model "%s" is in the allowed list when it should not be.', model)
        or string.format('Model "%s" is not in the allowed list.', model)
    end
    return { verdict = verdict,
             data = { verdict = verdict, ["not"] = negate, mode = mode, explanation = explanation,
                      requestedModel = model, allowedModels = allowed } }
  end,
}
