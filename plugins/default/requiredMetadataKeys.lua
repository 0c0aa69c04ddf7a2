-- default.requiredMetadataKeys: the request's metadata (x-portkey-metadata) has all / any / none of
-- `metadataKeys`. Before-request only, as in Portkey.
return {
  description = "Check that the request's metadata has all, any or none of the given keys",
  events = { "beforeRequestHook" },
  parameters = { metadataKeys = "array", operator = "string?", failOnError = "boolean?" },
  check = function(ctx, params)
    local keys = params.metadataKeys
    if #keys == 0 then error("metadataKeys must be an array and not empty", 0) end
    local operator = params.operator or "all"
    if operator ~= "all" and operator ~= "any" and operator ~= "none" then
      error("operator must be one of: all, any, none", 0)
    end
    local found, missing = gw.json.array({}), gw.json.array({})
    for _, key in ipairs(keys) do
      if type(key) ~= "string" then error("metadataKeys must be an array of strings", 0) end
      if ctx.metadata[key] ~= nil then found[#found + 1] = key else missing[#missing + 1] = key end
    end
    local verdict
    if operator == "any" then verdict = #found > 0
    elseif operator == "all" then verdict = #missing == 0
    else verdict = #found == 0 end
    local detail = {
      any = { "At least one metadata key was found.", "No metadata keys were found." },
      all = { "All metadata keys were found.", "Some metadata keys were missing." },
      none = { "No metadata keys were found.", "Some metadata keys were found." },
    }
    local explanation = string.format("Check %s for '%s' metadata keys. %s", verdict and "passed" or "failed", operator,
      detail[operator][verdict and 1 or 2])
    return { verdict = verdict,
             data = { explanation = explanation, missing_metadata_keys = missing, found_metadata_keys = found,
                      operator = operator } }
  end,
}
