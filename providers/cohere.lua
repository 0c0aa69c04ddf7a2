-- Cohere v2 (https://docs.cohere.com/reference/chat, /reference/embed): chat and embeddings,
-- translated from and to OpenAI's API. Auth: Authorization: Bearer <key>. Every other /v1 path
-- passes through to the v2 API untouched (POST /v1/rerank → https://api.cohere.com/v2/rerank).
local compat = require("openai_compatible")
local chat = require("openai_chat")
local validate = require("validate")

local null = gw.json.null
local array = gw.json.array
local json = gw.json

local NAME = "Cohere"
local spec = { name = NAME, base_url = "https://api.cohere.com/v2" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  endpoints = { ["chat/completions"] = "translate", embeddings = "translate", ["*"] = "passthrough" },
  decode_body = true,
}

function provider.auth(ctx)
  compat.require_key({ name = NAME }, ctx)
  return compat.base_url(spec, ctx), compat.auth_headers(spec, ctx.api_key)
end

local FINISH = { COMPLETE = "stop", STOP_SEQUENCE = "stop", MAX_TOKENS = "length", TOOL_CALL = "tool_calls",
                 ERROR = "stop", TIMEOUT = "stop" }

local function content_of(content, role)
  if type(content) == "string" or content == nil or content == null then return content end
  local parts = array()
  for _, part in ipairs(content) do
    if part.type == "text" then
      parts[#parts + 1] = { type = "text", text = part.text }
    elseif part.type == "image_url" and role == "user" then
      local url = type(part.image_url) == "table" and part.image_url.url or part.image_url
      parts[#parts + 1] = { type = "image_url", image_url = { url = url } }
    else
      chat.unsupported_part(NAME, part, role)
    end
  end
  return parts
end

local function chat_request(ctx, body)
  chat.check_common(body, NAME)
  local messages = array()
  for _, m in ipairs(body.messages) do
    local role = m.role == "developer" and "system" or m.role
    if role ~= "system" and role ~= "user" and role ~= "assistant" and role ~= "tool" then
      error(chat.bad_request(NAME .. " does not accept messages with role '" .. tostring(m.role) .. "'", "messages"))
    end
    local message = { role = role, content = content_of(m.content, role) }
    if role == "assistant" and type(m.tool_calls) == "table" and #m.tool_calls > 0 then
      message.tool_calls = m.tool_calls
      if message.content == null or message.content == "" then message.content = nil end
    end
    if role == "tool" then
      message.tool_call_id = m.tool_call_id
      if type(message.content) ~= "string" then message.content = chat.text_of(m.content) end
    end
    messages[#messages + 1] = message
  end
  local out = {
    model = body.model, messages = messages, stream = body.stream == true or nil,
    max_tokens = chat.max_tokens(body, nil), temperature = body.temperature, p = body.top_p, seed = body.seed,
    stop_sequences = chat.stop_list(body.stop), frequency_penalty = body.frequency_penalty,
    presence_penalty = body.presence_penalty,
  }
  if type(body.tools) == "table" and #body.tools > 0 then out.tools = body.tools end
  local choice = body.tool_choice
  if choice == "required" then
    out.tool_choice = "REQUIRED"
  elseif choice == "none" then
    out.tool_choice = "NONE"
  elseif type(choice) == "table" then
    error(chat.bad_request(NAME .. " cannot force one named tool; use tool_choice \"required\" with only that tool",
      "tool_choice"))
  end
  local format = body.response_format
  if type(format) == "table" then
    if format.type == "json_object" then
      out.response_format = { type = "json_object" }
    elseif format.type == "json_schema" then
      out.response_format = { type = "json_object",
                              json_schema = type(format.json_schema) == "table" and format.json_schema.schema or nil }
    end
  end
  ctx.requested_model = body.model
  ctx.include_usage = type(body.stream_options) == "table" and body.stream_options.include_usage == true
  return out
end

local function embed_request(ctx, body)
  local texts, base64 = chat.embedding_texts(body, NAME)
  ctx.base64 = base64
  ctx.requested_model = body.model
  return {
    model = body.model, texts = array(texts), embedding_types = array({ "float" }),
    input_type = body.input_type or ctx.settings.cohere_input_type or "search_document",
    output_dimension = body.dimensions,
  }
end

function provider.prepare(ctx)
  compat.require_key({ name = NAME }, ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  local base = compat.base_url(spec, ctx)
  local headers = compat.auth_headers(spec, ctx.api_key)
  if ctx.endpoint == "embeddings" then
    return { url = compat.join_url(base, "/embed", ""), method = "POST", headers = headers, body = embed_request(ctx, body) }
  end
  return { url = compat.join_url(base, "/chat", ""), method = "POST", headers = headers, body = validate.encode(chat_request(ctx, body), body) }
end

local function usage_of(u)
  local tokens = type(u) == "table" and (u.tokens or u.billed_units) or {}
  return chat.usage(tokens.input_tokens or 0, tokens.output_tokens or 0)
end

function provider.response(ctx, res)
  local r = res.body
  if type(r) ~= "table" then error(chat.upstream_error(NAME .. " answered 2xx with something that is not JSON")) end
  if ctx.endpoint == "embeddings" then
    local vectors = type(r.embeddings) == "table" and r.embeddings.float
    if type(vectors) ~= "table" then error(chat.upstream_error(NAME .. " answered without float embeddings")) end
    local input = type(r.meta) == "table" and type(r.meta.billed_units) == "table" and r.meta.billed_units.input_tokens or 0
    return { body = chat.embedding_list(vectors, ctx.requested_model, input, ctx.base64) }
  end
  local message = type(r.message) == "table" and r.message or {}
  local text = chat.text_of(message.content)
  local out = { role = "assistant", content = text ~= "" and text or null, refusal = null }
  if type(message.tool_calls) == "table" and #message.tool_calls > 0 then out.tool_calls = message.tool_calls end
  return { body = chat.completion(r.id, ctx.requested_model, out, FINISH[r.finish_reason] or "stop", usage_of(r.usage)) }
end

function provider.stream(ctx, event)
  if ctx.failed then return nil end
  if event.done then
    if ctx.ended then return nil end
    ctx.failed = true
    return { chat.error_event(NAME .. " stream ended before message-end", "upstream_error", "stream_truncated") }
  end
  local data = event.data
  if type(data) ~= "table" then return chat.not_json(ctx, NAME, event) end
  local kind = data.type or event.event
  local message = type(data.delta) == "table" and type(data.delta.message) == "table" and data.delta.message or {}
  if kind == "message-start" then
    ctx.id = data.id
    ctx.model = ctx.requested_model
    ctx.created = math.floor(gw.time())
    ctx.tools = 0
    return { { data = chat.chunk(ctx, { role = "assistant", content = "" }) } }
  elseif kind == "content-delta" then
    local content = message.content
    local text = type(content) == "table" and content.text
    if type(text) == "string" and text ~= "" then return { { data = chat.chunk(ctx, { content = text }) } } end
  elseif kind == "tool-call-start" then
    local call = message.tool_calls or {}
    local fn = call["function"] or {}
    local index = ctx.tools
    ctx.tools = index + 1
    return { { data = chat.chunk(ctx, { tool_calls = array({ {
      index = index, id = call.id, type = "function", ["function"] = { name = fn.name, arguments = fn.arguments or "" },
    } }) }) } }
  elseif kind == "tool-call-delta" then
    local call = message.tool_calls or {}
    local arguments = call["function"] and call["function"].arguments
    if type(arguments) == "string" and arguments ~= "" then
      return { { data = chat.chunk(ctx, { tool_calls = array({ {
        index = ctx.tools - 1, ["function"] = { arguments = arguments } } }) }) } }
    end
  elseif kind == "message-end" then
    ctx.ended = true
    local delta = type(data.delta) == "table" and data.delta or {}
    if delta.finish_reason == "ERROR" then
      ctx.failed = true
      return { chat.error_event(NAME .. " ended the message with an error", "upstream_error", "upstream_error") }
    end
    local out = { { data = chat.chunk(ctx, {}, FINISH[delta.finish_reason] or "stop") } }
    if ctx.include_usage then out[#out + 1] = { data = chat.usage_chunk(ctx, usage_of(delta.usage)) } end
    out[#out + 1] = "[DONE]"
    return out
  end
  -- content-start/-end, tool-plan-delta, tool-call-end, citation events and debug carry nothing
  -- OpenAI's chunk format has a place for.
  return nil
end

return provider
