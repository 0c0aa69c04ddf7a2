-- The hook runner: runs the checks of one hook object and returns its entry for `hook_results`.
--
-- The host normalizes configs (shorthand, camelCase), validates check ids and parameters, and
-- calls `require("hooks").run(hook, ctx_parts)` once per hook, in one VM, under the instruction
-- budget. The host decides what a failed hook means (446 when denied, 246 otherwise); this file
-- only answers "did each check pass, why, how long did it take, and what did mutators rewrite".
-- See plugins/README.md and /work/notes/plugin-contract.md.
--
-- Rules kept from Portkey:
--   * a check that raises (or returns something that is not a result) counts as PASSED, with its
--     error reported, unless its parameters set `failOnError = true` (then it fails);
--   * disabled checks (`is_enabled = false`) do not run and are not reported;
--   * with `sequential`, a mutator's rewritten body is what the next check sees; without it every
--     check sees the original body, and the rewrites are applied afterwards in the checks' order.

local hook_text = require("hook_text")

local M = {}

-- Portkey's request types by endpoint.
M.REQUEST_TYPES = {
  ["chat/completions"] = "chatComplete",
  ["completions"] = "complete",
  ["messages"] = "messages",
  ["responses"] = "responses",
  ["embeddings"] = "embed",
}

local function now()
  return gw.monotonic_ms()
end

local function round_ms(ms)
  return math.floor(ms * 1000 + 0.5) / 1000
end

--- Builds the ctx a check receives (see the contract) from the host's parts.
function M.build_ctx(parts)
  local request_type = M.REQUEST_TYPES[parts.endpoint] or parts.endpoint
  local ctx = {
    event = parts.event,
    request_type = request_type,
    endpoint = parts.endpoint,
    provider = parts.provider,
    model = parts.model,
    metadata = parts.metadata or {},
    request = {
      json = parts.request_json,
      text = hook_text.request_text(request_type, parts.request_json),
      headers = parts.request_headers or {},
      is_streaming = parts.is_streaming == true,
    },
  }
  if parts.event == "afterRequestHook" then
    ctx.response = {
      json = parts.response_json,
      text = hook_text.response_text(request_type, parts.response_json),
      status = parts.response_status or 200,
    }
  end
  return ctx
end

-- A shallow view of ctx with one side's body replaced (the text re-extracted).
local function with_body(ctx, side, json)
  local view = {}
  for k, v in pairs(ctx) do view[k] = v end
  local part = {}
  for k, v in pairs(ctx[side]) do part[k] = v end
  part.json = json
  if side == "request" then
    part.text = hook_text.request_text(ctx.request_type, json)
  else
    part.text = hook_text.response_text(ctx.request_type, json)
  end
  view[side] = part
  return view
end

local function message_of(err)
  if type(err) == "string" then return err end
  if type(err) == "table" and type(err.message) == "string" then return err.message end
  return tostring(err)
end

-- Calls one check; returns ok, result-or-error-text.
local function call_check(plugin, ctx, params, event)
  if type(plugin) ~= "table" or type(plugin.check) ~= "function" then
    return false, "no check function is loaded for this id"
  end
  local ok, result = pcall(plugin.check, ctx, params, event)
  if not ok then return false, message_of(result) end
  if type(result) ~= "table" then
    return false, "the check returned " .. type(result) .. ", not a result table"
  end
  if type(result.verdict) ~= "boolean" then
    return false, "the check's result has no boolean verdict (got " .. type(result.verdict) .. ")"
  end
  return true, result
end

-- The rewritten body of `side` a result carries, or nil.
local function transformed_body(result, side)
  if result.transformed ~= true then return nil end
  local data = result.transformed_data
  if type(data) ~= "table" or type(data[side]) ~= "table" then return nil end
  local json = data[side].json
  if type(json) ~= "table" then return nil end
  return json
end

--- Runs every enabled check of `hook` on the ctx built from `parts`; returns the hook's result.
function M.run(hook, parts)
  local started = now()
  local ctx = M.build_ctx(parts)
  local event = ctx.event
  local side = event == "afterRequestHook" and "response" or "request"
  local original = ctx[side].json
  local current = original
  -- Whether a mutator rewrote the body. Not `current ~= original`: a check may rewrite
  -- ctx.request.json / ctx.response.json in place and return that same table.
  local rewritten = false
  local sequential = hook.sequential == true
  local entries = gw.json.array({})
  local verdict = true
  local transformers = {} -- non-sequential: { index into entries, check, plugin, params }

  for _, check in ipairs(hook.checks or {}) do
    if check.is_enabled ~= false then
      local params = check.parameters
      if type(params) ~= "table" then params = {} end
      local plugin = gw.plugins and gw.plugins[check.id]
      local view = (sequential and rewritten) and with_body(ctx, side, current) or ctx
      local t0 = now()
      local ok, result = call_check(plugin, view, params, event)
      local entry = { id = check.id, execution_time = round_ms(now() - t0) }
      if ok then
        entry.verdict = result.verdict
        local data = result.data
        if type(data) ~= "table" then data = nil end
        if type(result.explanation) == "string" then
          data = data or {}
          if data.explanation == nil then data.explanation = result.explanation end
        end
        entry.data = data or gw.json.null
        local body = transformed_body(result, side)
        if body then
          entry.transformed = true
          if sequential then
            current = body
            rewritten = true
          else
            transformers[#transformers + 1] = { check = check, plugin = plugin, params = params, body = body, entry = entry }
          end
        elseif result.transformed ~= nil then
          entry.transformed = false
        end
      else
        entry.error = result
        entry.verdict = params.failOnError ~= true
        entry.data = gw.json.null
      end
      if not entry.verdict then verdict = false end
      entries[#entries + 1] = entry
    end
  end

  -- Without `sequential`, each mutator rewrote the original; apply them in order. The first one's
  -- body is taken as is; a later one is re-run on the body so far (a whole-body result computed on
  -- the original would silently undo the earlier rewrites).
  if not sequential then
    for _, t in ipairs(transformers) do
      if t.body == current then
        rewritten = true -- rewritten in place: already in the shared body
      elseif not rewritten then
        current = t.body
        rewritten = true
      else
        local ok, result = call_check(t.plugin, with_body(ctx, side, current), t.params, event)
        if ok then
          local body = transformed_body(result, side)
          if body then current = body end
        else
          t.entry.error = "while applying its rewrite after the earlier mutators: " .. result
        end
      end
    end
  end

  local out = {
    verdict = verdict,
    id = hook.id,
    type = hook.type,
    deny = hook.deny == true,
    async = hook.async == true,
    transformed = rewritten,
    checks = entries,
    execution_time = round_ms(now() - started),
  }
  if rewritten then
    if side == "request" then out.request_json = current else out.response_json = current end
  end
  return out
end

return M
