-- default.webhook: POSTs what the hook sees to `webhookURL` and takes the verdict it answers.
--   webhookURL  the URL; its host must be allow-listed by the operator (`--allow-host`), as for
--               gw.fetch anywhere: any other host is an error naming host_not_allowed
--   headers     extra request headers: an object, or a JSON string of one (Portkey accepts both)
-- The body is Portkey's: {request: {json, text}, response: {json, text, statusCode} (after only),
-- requestType, provider, metadata, eventType}. The request's own headers are NOT sent (they carry
-- the client's credentials).
-- The answer must be JSON `{verdict: bool, data?: {...}, transformedData?: {request|response: {json}}}`;
-- `transformedData` for the side being checked rewrites the request or the answer (a mutator).
-- A failed call (no answer, not 2xx, not JSON, no boolean verdict) is an error of the check:
-- passed unless `failOnError` is set, as in Portkey.

local function parse_headers(value)
  if value == nil then return {} end
  if type(value) == "string" then
    local ok, parsed = pcall(gw.json.decode, value)
    if not ok or type(parsed) ~= "table" or gw.json.is_array(parsed) then
      error("Failed to parse headers: Invalid headers format", 0)
    end
    value = parsed
  end
  if type(value) ~= "table" or gw.json.is_array(value) then error("headers must be an object", 0) end
  local out = {}
  for name, v in pairs(value) do
    if type(v) ~= "string" then error("headers." .. tostring(name) .. " must be a string", 0) end
    out[name] = v
  end
  return out
end

return {
  description = "Asks a webhook (an allow-listed host) for the verdict, and honours its transformedData",
  parameters = { webhookURL = "string", headers = "any?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local url = params.webhookURL
    if not url:match("^https?://[^/%s]+") then error("Invalid webhook URL format", 0) end
    local headers = parse_headers(params.headers)
    headers["content-type"] = "application/json"
    local payload = {
      request = { json = ctx.request.json, text = ctx.request.text or gw.json.null },
      requestType = ctx.request_type,
      provider = ctx.provider or gw.json.null,
      metadata = ctx.metadata,
      eventType = event,
    }
    if ctx.response then
      payload.response = { json = ctx.response.json, text = ctx.response.text or gw.json.null,
                           statusCode = ctx.response.status }
    end
    local answer = gw.fetch({ method = "POST", url = url, headers = headers, body = gw.json.encode(payload) })
    if type(answer) ~= "table" then error("Webhook error: no answer", 0) end
    if answer.error ~= nil and answer.error ~= gw.json.null then
      local problem = answer.error
      local text = type(problem) == "table" and (problem.message or problem.code) or tostring(problem)
      if type(problem) == "table" and problem.code and problem.message then text = problem.code .. ": " .. problem.message end
      error("Webhook error: " .. tostring(text), 0)
    end
    local status = tonumber(answer.status) or 0
    if status < 200 or status > 299 then error("Webhook error: HTTP error! status: " .. status, 0) end
    local body = answer.body
    if type(body) == "string" then
      local ok, decoded = pcall(gw.json.decode, body)
      body = ok and decoded or nil
    end
    if type(body) ~= "table" then error("Webhook error: the webhook did not answer a JSON object", 0) end
    if type(body.verdict) ~= "boolean" then error("Webhook error: the answer has no boolean verdict", 0) end
    local side = event == "afterRequestHook" and "response" or "request"
    local transformed_data
    local td = body.transformedData
    if type(td) == "table" and type(td[side]) == "table" and type(td[side].json) == "table" then
      transformed_data = { [side] = { json = td[side].json } }
    end
    return {
      verdict = body.verdict,
      data = { verdict = body.verdict, explanation = body.verdict and "Webhook request succeeded" or "Webhook request failed",
               webhookUrl = url, responseData = type(body.data) == "table" and body.data or gw.json.null },
      transformed = transformed_data ~= nil,
      transformed_data = transformed_data,
    }
  end,
}
