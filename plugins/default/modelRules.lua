-- default.modelRules: `rules = { defaults = [models], metadata = { <key> = { <value> = [models] } } }`.
-- The allowed models are the union of the lists whose metadata key/value the request carries;
-- `defaults` when none matches. With `not: true` the resolved list is a block list.
local util = require("check_util")

return {
  description = "Allow models by rules keyed on request metadata, with defaults",
  events = { "beforeRequestHook" },
  parameters = { rules = "object", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params)
    local model = ctx.request.json and ctx.request.json.model or ctx.model
    if type(model) ~= "string" or model == "" then error("Missing model in request", 0) end
    local rules = params.rules
    local allowed, seen, matched = {}, {}, {}
    local keys = {}
    for key in pairs(type(rules.metadata) == "table" and rules.metadata or {}) do keys[#keys + 1] = key end
    table.sort(keys)
    for _, key in ipairs(keys) do
      local mapping = rules.metadata[key]
      local value = ctx.metadata[key]
      if value ~= nil and type(mapping) == "table" then
        local values = type(value) == "table" and value or { value }
        for _, v in ipairs(values) do
          local models = mapping[tostring(v)]
          if type(models) == "table" then
            matched[#matched + 1] = key .. ":" .. tostring(v)
            for _, m in ipairs(models) do
              if type(m) == "string" and not seen[m] then seen[m] = true; allowed[#allowed + 1] = m end
            end
          end
        end
      end
    end
    local using_defaults = false
    if #allowed == 0 then
      using_defaults = true
      for _, m in ipairs(type(rules.defaults) == "table" and rules.defaults or {}) do allowed[#allowed + 1] = tostring(m) end
    end
    if #allowed == 0 then error("No allowed models resolved from rules", 0) end
    local in_list = util.contains(allowed, model)
    local negate = params["not"] == true
    local verdict = in_list ~= negate
    local explanation
    if verdict then
      explanation = negate and string.format('Model "%s" is not permitted by rules (blocked list).', model)
        or string.format('Model "%s" is allowed by rules.', model)
      if #matched > 0 then
        explanation = explanation .. " (matched rules: " .. table.concat(matched, ", ") .. ")"
      elseif using_defaults then
        explanation = explanation .. " (using default models)"
      end
    else
      explanation = negate and string.format('Model "%s" is permitted by rules (in blocked list).', model)
        or string.format('Model "%s" is not allowed by rules.', model)
    end
    return { verdict = verdict, data = { explanation = explanation } }
  end,
}
