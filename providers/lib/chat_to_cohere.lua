-- Converter: OpenAI chat completions -> Cohere v2 chat (https://docs.cohere.com/reference/chat), and
-- the answers and streams back. Used by the cohere provider:
--   request(ctx, body)  -> the Cohere chat request body (notes in ctx)
--   response(ctx, res)  -> a chat.completion
--   stream(ctx, event)  -> chat.completion.chunk events, then [DONE]
--
-- Cohere v2 is close to OpenAI's shape: developer -> system, top_p -> p, stop -> stop_sequences,
-- tool_choice required/none -> REQUIRED/NONE (auto is Cohere's default), response_format
-- json_object/json_schema -> json_object (with the schema); tools, tool calls and tool results
-- keep their shape.
-- seed, frequency_penalty and presence_penalty keep their names. Every request field is declared
-- in M.params (mapped, refused or dropped with the reason; see lib/params.lua and
-- providers/README.md, "Map or refuse").
-- Refused with 400 (the client relies on them and Cohere has nothing that honours them): the fields
-- declared "refused" (logit_bias, reasoning_effort, …); n other than 1, logprobs, modalities other
-- than text (openai_chat.check_common); parallel_tool_calls false with tools; a named tool_choice
-- (Cohere cannot force one tool); a tool that is not a function; a tool_choice or response_format
-- type OpenAI does not define; content parts other than text, and images outside user messages;
-- roles other than system/developer/user/assistant/tool.
-- In streams, tool plans and citations have no place in OpenAI's chunks and are not carried.
local chat = require("openai_chat")
local params = require("params")

local null = gw.json.null
local array = gw.json.array

local NAME = "Cohere"
local M = { from = "chat/completions", to = "cohere_v2" }

M.params = chat.chat_params {
  seed = "mapped", presence_penalty = "mapped", frequency_penalty = "mapped",
  parallel_tool_calls = "mapped",  -- true is Cohere's way; false with tools is refused
}

local FINISH = { COMPLETE = "stop", STOP_SEQUENCE = "stop", MAX_TOKENS = "length", TOOL_CALL = "tool_calls",
                 ERROR = "stop", TIMEOUT = "stop" }

local function content_of(content, role)
  if type(content) == "string" or content == nil or content == null then return content end
  local parts = array()
  for _, part in ipairs(content) do
    if part.type == "text" then
      parts[#parts + 1] = { type = "text", text = part.text }
    elseif part.type == "image_url" and role == "user" then
      parts[#parts + 1] = { type = "image_url", image_url = { url = chat.image_url_of(part) } }
    else
      chat.unsupported_part(NAME, part, role)
    end
  end
  return parts
end

function M.request(ctx, body)
  params.check(M, body, NAME)
  chat.check_common(body, NAME)
  chat.parallel_tools_default_only(body, NAME)
  local messages = array()
  for _, m in ipairs(body.messages) do
    local role = m.role == "developer" and "system" or m.role
    if role ~= "system" and role ~= "user" and role ~= "assistant" and role ~= "tool" then
      chat.unsupported_role(NAME, m.role)
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
  -- Cohere's tools have OpenAI's shape: checked to be functions, then sent as they are.
  if chat.function_tools(body, NAME) then out.tools = body.tools end
  local choice = chat.tool_choice(body)
  if choice == "required" then
    out.tool_choice = "REQUIRED"
  elseif choice == "none" then
    out.tool_choice = "NONE"
  elseif choice == "function" then
    error(chat.bad_request(NAME .. " cannot force one named tool; use tool_choice \"required\" with only that tool",
      "tool_choice"))
  end
  local format, schema = chat.response_format(body)
  if format == "json_object" or format == "json_schema" then
    out.response_format = { type = "json_object", json_schema = schema }
  end
  chat.note_request(ctx, body)
  return out
end

local function usage_of(u)
  local tokens = type(u) == "table" and (u.tokens or u.billed_units) or {}
  return chat.usage(tokens.input_tokens or 0, tokens.output_tokens or 0)
end

function M.response(ctx, res)
  local r = res.body
  if type(r) ~= "table" then error(chat.upstream_error(NAME .. " answered 2xx with something that is not JSON")) end
  local message = type(r.message) == "table" and r.message or {}
  local text = chat.text_of(message.content)
  local out = { role = "assistant", content = text ~= "" and text or null, refusal = null }
  if type(message.tool_calls) == "table" and #message.tool_calls > 0 then out.tool_calls = message.tool_calls end
  return { body = chat.completion(r.id, ctx.requested_model, out, FINISH[r.finish_reason] or "stop", usage_of(r.usage)) }
end

-- One upstream event in, zero or more OpenAI chunks out; message-end finishes and ends the stream.
local function stream_event(ctx, event)
  local data = event.data
  if type(data) ~= "table" then return chat.not_json(ctx, NAME, event) end
  local kind = data.type or event.event
  local message = type(data.delta) == "table" and type(data.delta.message) == "table" and data.delta.message or {}
  if kind == "message-start" then
    ctx.tools = 0
    return { chat.start(ctx, data.id, ctx.requested_model) }
  elseif kind == "content-delta" then
    local content = message.content
    local text = type(content) == "table" and content.text
    if type(text) == "string" and text ~= "" then return { chat.delta(ctx, { content = text }) } end
  elseif kind == "tool-call-start" then
    local call = message.tool_calls or {}
    local fn = call["function"] or {}
    local index = ctx.tools
    ctx.tools = index + 1
    return { chat.delta(ctx, { tool_calls = array({ {
      index = index, id = call.id, type = "function", ["function"] = { name = fn.name, arguments = fn.arguments or "" },
    } }) }) }
  elseif kind == "tool-call-delta" then
    local call = message.tool_calls or {}
    local arguments = call["function"] and call["function"].arguments
    if type(arguments) == "string" and arguments ~= "" then
      return { chat.delta(ctx, { tool_calls = array({ {
        index = ctx.tools - 1, ["function"] = { arguments = arguments } } }) }) }
    end
  elseif kind == "message-end" then
    local delta = type(data.delta) == "table" and data.delta or {}
    if delta.finish_reason == "ERROR" then
      return chat.fail_stream(ctx, NAME .. " ended the message with an error", "upstream_error")
    end
    return chat.close(ctx, usage_of(delta.usage), { chat.finish(ctx, FINISH[delta.finish_reason] or "stop") })
  end
  -- content-start/-end, tool-plan-delta, tool-call-end, citation events and debug carry nothing
  -- OpenAI's chunk format has a place for.
  return nil
end

M.stream = chat.stream_translator { name = NAME, terminal = "message-end", event = stream_event }

return M
