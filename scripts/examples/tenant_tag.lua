-- Tenant tag: the x-tenant header is kept for the request and written to the log when it
-- completes, with status, latency, provider and token usage (streams included), for per-tenant
-- accounting. Copy into scripts/ to enable.
return {
  order = 5,
  on_request = function(ctx, req)
    ctx.tenant = req.headers["x-tenant"] or "unknown"
  end,
  on_log = function(ctx, entry)
    local usage = entry.usage or {}
    gw.log("info", string.format("tenant=%s status=%d provider=%s stream=%s latency_ms=%.1f prompt_tokens=%s completion_tokens=%s",
      ctx.tenant, entry.status, tostring(entry.provider), tostring(entry.stream), entry.latency_ms,
      tostring(usage.prompt_tokens), tostring(usage.completion_tokens)))
  end,
}
