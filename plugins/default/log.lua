-- default.log: always passes and records what the hook saw in its `data`; the host writes hook
-- results into the request log, so this is "log to the request log". Portkey's log POSTs the
-- context to `logURL`; Switchboard's checks do not reach the network, so `logURL`/`headers` are
-- not parameters here (a config giving them is refused when it is parsed).
-- `maxTextLength` (default 1000) bounds the text copied into the log.
local function cut(text, limit)
  if type(text) ~= "string" then return gw.json.null end
  if #text <= limit then return text end
  local stop = utf8.offset(text, limit + 1) or (limit + 1)
  if stop > #text + 1 then return text end
  return text:sub(1, stop - 1) .. "..."
end

return {
  description = "Records the request (and response) text, model and metadata in the hook results and the request log",
  parameters = { maxTextLength = "integer?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local limit = params.maxTextLength or 1000
    if limit < 0 then error("maxTextLength must be >= 0", 0) end
    local logged = {
      event = event,
      requestType = ctx.request_type,
      provider = ctx.provider or gw.json.null,
      model = ctx.model or gw.json.null,
      metadata = ctx.metadata,
      requestText = cut(ctx.request.text, limit),
      isStreaming = ctx.request.is_streaming,
    }
    if ctx.response then
      logged.responseText = cut(ctx.response.text, limit)
      logged.responseStatus = ctx.response.status
    end
    return { verdict = true, data = { explanation = "Logged the " .. (ctx.response and "response" or "request") .. ".",
                                      logged = logged } }
  end,
}
