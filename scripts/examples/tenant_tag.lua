-- Tenant tag: the x-tenant header is kept for the request and written to the log with the
-- answer's status and token usage, for per-tenant accounting. Copy into scripts/ to enable.
return {
  order = 5,
  on_request = function(ctx, req)
    ctx.tenant = req.headers["x-tenant"] or "unknown"
  end,
  on_response = function(ctx, res)
    local usage = type(res.body) == "table" and res.body.usage or {}
    gw.log("info", string.format("tenant=%s status=%d prompt_tokens=%s completion_tokens=%s", ctx.tenant, res.status,
      tostring(usage.prompt_tokens), tostring(usage.completion_tokens)))
  end,
}
