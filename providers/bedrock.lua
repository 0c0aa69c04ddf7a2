-- Amazon Bedrock Converse API (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html),
-- translated from and to OpenAI's chat completions; ConverseStream's binary event stream is
-- decoded by the host and translated here event by event. Requests are signed with AWS Signature
-- V4 (lib/aws_sigv4.lua). Settings (x-portkey-aws-*): aws_access_key_id, aws_secret_access_key,
-- aws_session_token (optional), aws_region (default us-east-1).
local chat = require("openai_chat")
local sigv4 = require("aws_sigv4")
local validate = require("validate")
local upstream_errors = require("upstream_errors")

local null = gw.json.null
local array = gw.json.array
local json = gw.json

local NAME = "Amazon Bedrock"

local provider = {
  name = NAME,
  -- Claude models take /v1/messages through InvokeModel (its binary stream is re-framed as
  -- server-sent events here, so "translate"); for others prepare asks for the converter.
  endpoints = { ["chat/completions"] = "translate", messages = "translate" },
  decode_body = true,
  client_headers = { "anthropic-beta" },
  -- The region is in the host (bedrock-runtime.<region>.amazonaws.com).
  host_settings = { "aws_region" },
  -- Written in a named config, these are a key the gateway holds (kept with the operator's host).
  credential_settings = { "aws_access_key_id", "aws_secret_access_key", "aws_session_token" },
}

local STOP = { end_turn = "stop", stop_sequence = "stop", max_tokens = "length", tool_use = "tool_calls",
               guardrail_intervened = "content_filter", content_filtered = "content_filter" }
local IMAGE_FORMATS = { ["image/png"] = "png", ["image/jpeg"] = "jpeg", ["image/jpg"] = "jpeg",
                        ["image/gif"] = "gif", ["image/webp"] = "webp" }

local function blocks_of(content, role, ctx)
  if type(content) == "string" then
    return content == "" and array() or array({ { text = content } })
  end
  local blocks = array()
  for _, part in ipairs(type(content) == "table" and content or {}) do
    if part.type == "text" then
      blocks[#blocks + 1] = { text = part.text }
    elseif part.type == "image_url" and role == "user" then
      local url = type(part.image_url) == "table" and part.image_url.url or part.image_url
      local media_type, data = chat.parse_data_url(type(url) == "string" and url or "")
      if not media_type and type(url) == "string" and url:match("^https?://") then
        -- Bedrock needs the bytes: the gateway fetches the URL and prepare runs again.
        local image = ctx.fetched and ctx.fetched[url]
        if not image then
          ctx.fetch_list = ctx.fetch_list or {}
          ctx.fetch_list[#ctx.fetch_list + 1] = url
        else
          media_type, data = image.media_type, image.data
        end
      end
      if media_type or not ctx.fetch_list then
        local format = media_type and IMAGE_FORMATS[media_type]
        if not format then
          error(chat.bad_request(NAME .. " accepts png, jpeg, gif or webp images, as URLs or base64 data URLs" ..
            (media_type and (" (got " .. media_type .. ")") or ""), "messages"))
        end
        blocks[#blocks + 1] = { image = { format = format, source = { bytes = data } } }
      end
    else
      chat.unsupported_part(NAME, part, role)
    end
  end
  return blocks
end

local function translate(ctx, body)
  chat.check_common(body, NAME)
  local format = body.response_format
  if type(format) == "table" and format.type ~= "text" then
    error(chat.bad_request(NAME .. " Converse has no response_format '" .. tostring(format.type) .. "'", "response_format"))
  end
  local system, messages = array(), array()
  for index, m in ipairs(body.messages) do
    if m.role == "system" or m.role == "developer" then
      system[#system + 1] = { text = chat.text_of(m.content) }
    elseif m.role == "user" then
      chat.push_turn(messages, "user", blocks_of(m.content, "user", ctx))
    elseif m.role == "assistant" then
      local blocks = blocks_of(m.content, "assistant", ctx)
      for _, call in ipairs(type(m.tool_calls) == "table" and m.tool_calls or {}) do
        local fn = call["function"] or {}
        local input = chat.tool_arguments(call, index - 1)
        blocks[#blocks + 1] = { toolUse = { toolUseId = call.id, name = fn.name, input = input } }
      end
      chat.push_turn(messages, "assistant", blocks)
    elseif m.role == "tool" then
      local text = chat.text_of(m.content)
      local ok, decoded = pcall(json.decode, text)
      local content = (ok and type(decoded) == "table" and not gw.json.is_array(decoded))
        and array({ { json = decoded } }) or array({ { text = text } })
      chat.push_turn(messages, "user", array({ { toolResult = { toolUseId = m.tool_call_id, content = content } } }))
    else
      error(chat.bad_request(NAME .. " does not accept messages with role '" .. tostring(m.role) .. "'", "messages"))
    end
  end
  local out = {
    messages = messages,
    inferenceConfig = {
      maxTokens = chat.max_tokens(body, nil), temperature = body.temperature, topP = body.top_p,
      stopSequences = chat.stop_list(body.stop),
    },
  }
  if #system > 0 then out.system = system end
  local choice = body.tool_choice
  if type(body.tools) == "table" and #body.tools > 0 and choice ~= "none" then
    local tools = array()
    for _, tool in ipairs(body.tools) do
      local fn = tool["function"] or {}
      tools[#tools + 1] = { toolSpec = { name = fn.name, description = fn.description,
                                         inputSchema = { json = fn.parameters or { type = "object", properties = {} } } } }
    end
    out.toolConfig = { tools = tools }
    if choice == "auto" then
      out.toolConfig.toolChoice = { auto = {} }
    elseif choice == "required" then
      out.toolConfig.toolChoice = { any = {} }
    elseif type(choice) == "table" and type(choice["function"]) == "table" then
      out.toolConfig.toolChoice = { tool = { name = choice["function"].name } }
    end
  end
  return out
end

function provider.prepare(ctx)
  local s = ctx.settings
  local access_key, secret_key = s.aws_access_key_id, s.aws_secret_access_key
  if not access_key or not secret_key then
    error({ status = 401, type = "authentication_error", code = "missing_aws_credentials",
            message = NAME .. " needs AWS credentials: x-portkey-aws-access-key-id and x-portkey-aws-secret-access-key" })
  end
  local region = s.aws_region or "us-east-1"
  if not region:match("^[%w%-]+$") then error(chat.bad_request("x-portkey-aws-region is not a region name")) end
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  if type(body.model) ~= "string" or body.model == "" then
    error(chat.bad_request("model must name a Bedrock model id, inference profile or ARN", "model"))
  end

  local base = ctx.custom_host and ctx.custom_host:gsub("/+$", "") or ("https://bedrock-runtime." .. region .. ".amazonaws.com")
  local scheme_host, prefix = base:match("^(https?://[^/]+)(.*)$")
  local host = scheme_host:gsub("^https?://", "")
  local action = body.stream == true and "/converse-stream" or "/converse"
  local payload
  if ctx.endpoint == "messages" then
    -- Anthropic's dialect: Claude models take it through InvokeModel (the Messages body with
    -- Bedrock's anthropic_version); other models go through the gateway's translation.
    if not body.model:find("anthropic%.claude") then return { via = "chat/completions" } end
    validate.messages_request(body)  -- the body is re-encoded: a value JSON cannot carry is refused here
    ctx.messages = true
    ctx.streaming = body.stream == true
    action = ctx.streaming and "/invoke-with-response-stream" or "/invoke"
    local invoke = {}
    for key, value in pairs(body) do
      if key ~= "model" and key ~= "stream" then invoke[key] = value end
    end
    invoke.anthropic_version = "bedrock-2023-05-31"
    payload = json.encode(invoke)
  end
  local model = sigv4.uri_encode(body.model)
  -- SigV4 encodes each path segment once more in the canonical request (every service but S3).
  local path = prefix .. "/model/" .. model .. action
  local canonical_path = sigv4.uri_encode(prefix, true) .. "/model/" .. sigv4.uri_encode(model) .. action

  if not payload then
    local request = translate(ctx, body)
    if ctx.fetch_list then return { fetch = ctx.fetch_list } end
    payload = validate.encode(request, body)
  end
  local headers = sigv4.sign {
    method = "POST", host = host, path = path, canonical_path = canonical_path, query = "", payload = payload,
    region = region, service = "bedrock", access_key = access_key, secret_key = secret_key,
    session_token = s.aws_session_token,
  }
  headers["content-type"] = "application/json"
  headers.accept = body.stream == true and "application/vnd.amazon.eventstream" or "application/json"

  ctx.requested_model = body.model
  ctx.include_usage = type(body.stream_options) == "table" and body.stream_options.include_usage == true
  return { url = scheme_host .. path, method = "POST", headers = headers, body = payload }
end

local function usage_of(u)
  if type(u) ~= "table" then return chat.usage(0, 0) end
  local cached = u.cacheReadInputTokens or 0
  return chat.usage((u.inputTokens or 0) + cached + (u.cacheWriteInputTokens or 0), u.outputTokens or 0, cached)
end

function provider.response(ctx, res)
  if ctx.messages then return { body = res.text } end  -- already an Anthropic message
  local r = res.body
  local message = type(r) == "table" and type(r.output) == "table" and r.output.message
  if type(message) ~= "table" or type(message.content) ~= "table" then
    error(chat.upstream_error(NAME .. " answered 2xx without output.message"))
  end
  local text, calls = {}, array()
  for _, block in ipairs(message.content) do
    if type(block.text) == "string" then
      text[#text + 1] = block.text
    elseif type(block.toolUse) == "table" then
      calls[#calls + 1] = { id = block.toolUse.toolUseId, type = "function",
                            ["function"] = { name = block.toolUse.name, arguments = json.encode(block.toolUse.input or {}) } }
    end
  end
  local out = { role = "assistant", content = #text > 0 and table.concat(text) or null, refusal = null }
  if #calls > 0 then out.tool_calls = calls end
  local id = res.headers["x-amzn-requestid"] or gw.uuid()
  return { body = chat.completion("bedrock-" .. id, ctx.requested_model, out, STOP[r.stopReason] or "stop",
                                  usage_of(r.usage)) }
end

-- InvokeModelWithResponseStream for /v1/messages: each `chunk` event carries one Anthropic
-- streaming event as base64 JSON; they go to the client as Anthropic's server-sent events.
local function messages_stream(ctx, event)
  if event.done then
    if ctx.stopped or ctx.failed then return nil end
    ctx.failed = true
    return { { event = "error", data = { type = "error", error = { type = "api_error",
      message = NAME .. " stream ended before message_stop" } } } }
  end
  local name = event.event or ""
  if name:sub(1, 10) == "exception:" then
    ctx.failed = true
    local message = type(event.data) == "table" and event.data.message or event.text
    local kind = name:sub(11):lower():find("throttl") and "rate_limit_error" or "api_error"
    return { { event = "error", data = { type = "error", error = { type = kind, message = tostring(message) } } } }
  end
  if name ~= "chunk" or type(event.data) ~= "table" or type(event.data.bytes) ~= "string" then return nil end
  local raw = gw.base64.decode(event.data.bytes)
  local ok, inner = pcall(json.decode, raw or "")
  if not ok or type(inner) ~= "table" then
    ctx.failed = true
    return { { event = "error", data = { type = "error", error = { type = "api_error",
      message = NAME .. " sent a chunk that is not an Anthropic event" } } } }
  end
  if inner.type == "message_stop" then ctx.stopped = true end
  return { { event = inner.type, data = inner } }
end

function provider.stream(ctx, event)
  if ctx.messages then return messages_stream(ctx, event) end
  if ctx.failed then return nil end
  if event.done then
    if ctx.done then return nil end
    if ctx.stop_reason then
      ctx.done = true
      return { "[DONE]" }
    end
    ctx.failed = true
    return { chat.error_event(NAME .. " stream ended before messageStop", "upstream_error", "stream_truncated") }
  end
  local name = event.event or ""
  local data = event.data
  if name:sub(1, 10) == "exception:" then
    ctx.failed = true
    local message = type(data) == "table" and data.message or event.text
    return { chat.error_event(NAME .. " " .. name:sub(11) .. ": " .. tostring(message), "upstream_error", name:sub(11)) }
  end
  if type(data) ~= "table" then
    ctx.failed = true
    return { chat.error_event(NAME .. " sent an event that is not JSON", "upstream_error", "invalid_upstream_event") }
  end
  if name == "messageStart" then
    ctx.id = "bedrock-" .. gw.uuid()
    ctx.model = ctx.requested_model
    ctx.created = math.floor(gw.time())
    ctx.tools, ctx.tool_index = 0, {}
    return { { data = chat.chunk(ctx, { role = "assistant", content = "" }) } }
  elseif name == "contentBlockStart" then
    local start = type(data.start) == "table" and data.start.toolUse
    if type(start) == "table" then
      local index = ctx.tools
      ctx.tools = index + 1
      ctx.tool_index[data.contentBlockIndex or 0] = index
      return { { data = chat.chunk(ctx, { tool_calls = array({ { index = index, id = start.toolUseId, type = "function",
        ["function"] = { name = start.name, arguments = "" } } }) }) } }
    end
  elseif name == "contentBlockDelta" then
    local delta = type(data.delta) == "table" and data.delta or {}
    if type(delta.text) == "string" then
      return { { data = chat.chunk(ctx, { content = delta.text }) } }
    elseif type(delta.toolUse) == "table" and type(delta.toolUse.input) == "string" then
      local index = ctx.tool_index[data.contentBlockIndex or 0]
      if index == nil then
        ctx.failed = true
        return { chat.error_event(NAME .. " sent tool input for a block that never started", "upstream_error",
          "invalid_upstream_event") }
      end
      return { { data = chat.chunk(ctx, { tool_calls = array({ { index = index,
        ["function"] = { arguments = delta.toolUse.input } } }) }) } }
    end
  elseif name == "messageStop" then
    ctx.stop_reason = STOP[data.stopReason] or "stop"
    return { { data = chat.chunk(ctx, {}, ctx.stop_reason) } }
  elseif name == "metadata" then
    ctx.done = true
    local out = {}
    if ctx.include_usage then out[1] = { data = chat.usage_chunk(ctx, usage_of(data.usage)) } end
    out[#out + 1] = "[DONE]"
    return out
  end
  return nil
end

-- Throttling, unavailable and not-yet-ready models (x-amzn-errortype) are worth another try.
function provider.error(ctx, res) return upstream_errors.aws(res) end

return provider
