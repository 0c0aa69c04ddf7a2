-- default.allowedRequestTypes: the request type (Portkey's names: chatComplete, complete,
-- messages, responses, embed) is allowed by `allowedTypes` and not in `blockedTypes` (arrays or
-- comma-separated strings). Without parameters the lists come from the metadata keys
-- `supported_endpoints` / `blocked_endpoints`; with neither, everything is allowed.
local util = require("check_util")

return {
  description = "Allow or block request types (chatComplete, complete, messages, responses, embed)",
  events = { "beforeRequestHook" },
  parameters = { allowedTypes = "any?", blockedTypes = "any?", failOnError = "boolean?" },
  check = function(ctx, params)
    local allowed = util.list(params.allowedTypes)
    local blocked = util.list(params.blockedTypes)
    local source = (#allowed > 0 or #blocked > 0) and "parameters" or "default"
    if #allowed == 0 and ctx.metadata.supported_endpoints then
      allowed = util.list(ctx.metadata.supported_endpoints); source = "metadata"
    end
    if #blocked == 0 and ctx.metadata.blocked_endpoints then
      blocked = util.list(ctx.metadata.blocked_endpoints); source = "metadata"
    end
    local current = ctx.request_type
    if not current then error("Request type not found in context", 0) end
    local conflicts = {}
    for _, t in ipairs(allowed) do if util.contains(blocked, t) then conflicts[#conflicts + 1] = t end end
    if #conflicts > 0 then
      error("Conflict detected: The following types appear in both allowedTypes and blockedTypes: "
        .. table.concat(conflicts, ", ") .. ". Please remove them from one list.", 0)
    end
    local verdict, mode, explanation
    if #allowed == 0 and #blocked == 0 then
      verdict, mode = true, "unrestricted"
      explanation = string.format('Request type "%s" is allowed (no restrictions configured).', current)
    elseif #allowed == 0 then
      verdict, mode = not util.contains(blocked, current), "blocklist"
      explanation = verdict and string.format('Request type "%s" is allowed (not in blocklist).', current)
        or string.format('Request type "%s" is blocked.', current)
    elseif #blocked == 0 then
      verdict, mode = util.contains(allowed, current), "allowlist"
      explanation = verdict and string.format('Request type "%s" is allowed.', current)
        or string.format('Request type "%s" is not allowed. Allowed types are: %s', current, table.concat(allowed, ", "))
    else
      mode = "combined"
      if util.contains(blocked, current) then
        verdict = false
        explanation = string.format('Request type "%s" is explicitly blocked.', current)
      else
        verdict = util.contains(allowed, current)
        explanation = verdict and string.format('Request type "%s" is allowed (in allowlist and not blocked).', current)
          or string.format('Request type "%s" is not in the allowed list.', current)
      end
    end
    return { verdict = verdict,
             data = { currentRequestType = current, allowedTypes = gw.json.array(allowed),
                      blockedTypes = gw.json.array(blocked), verdict = verdict, explanation = explanation,
                      source = source, mode = mode } }
  end,
}
