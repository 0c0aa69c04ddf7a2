-- Converter: OpenAI chat completions -> Anthropic Messages (https://docs.anthropic.com/en/api/messages),
-- and the answers and streams back. Used by the anthropic provider and by vertex-ai for Claude:
--   request(ctx)          -> the Messages request body (reads ctx.body, leaves notes in ctx)
--   response(ctx, res)    -> a chat.completion
--   stream(ctx, event)    -> chat.completion.chunk events, then [DONE]
--
-- Every request field is declared in M.params (mapped, refused or dropped with the reason; see
-- lib/params.lua and providers/README.md, "Map or refuse"). Refused with 400 (the client relies on
-- them and Anthropic has nothing that honours them): the fields declared "refused" (seed,
-- presence_penalty, frequency_penalty, logit_bias, …); n other than 1, logprobs, modalities other
-- than text (openai_chat.check_common); response_format other than text; content parts other than
-- text and images; image URLs other than http(s) or base64 data URLs; tools other than functions;
-- an unknown tool_choice; roles other than system/developer/user/assistant/tool; tool-call
-- arguments that are not a JSON object. safety_identifier (else user) goes as metadata.user_id,
-- Anthropic's ID for abuse detection. parallel_tool_calls true is Anthropic's default.
-- temperature above 1 is passed on and Anthropic's 400 comes back.
-- Reasoning: reasoning_effort -> thinking {type = "enabled", budget_tokens}, or for Claude 4.6 and
-- later {type = "adaptive"} with output_config.effort (lib/claude_reasoning.lua has the budgets); thinking and redacted_thinking blocks come back as message.reasoning_content and
-- message.thinking_blocks (streamed: delta.reasoning_content, then each whole block in a
-- delta.thinking_blocks when it ends), and an assistant message's thinking_blocks go back first in
-- its content. Prompt caching: cache_control on content parts, messages, system parts and tools is
-- kept. response_format json_schema -> output_config.format (structured outputs).
local chat = require("openai_chat")
local params = require("params")
local reasoning = require("claude_reasoning")

local null = gw.json.null
local array = gw.json.array
local json = gw.json

local NAME = "Anthropic"
local DEFAULT_MAX_TOKENS = 4096
local M = { from = "chat/completions", to = "anthropic_messages" }

M.params = chat.chat_params {
  user = "mapped", safety_identifier = "mapped",  -- metadata.user_id
  parallel_tool_calls = "mapped",                 -- false: tool_choice.disable_parallel_tool_use
  reasoning_effort = "mapped",                    -- thinking.budget_tokens
  seed = "refused", presence_penalty = "refused", frequency_penalty = "refused",
  metadata = "dropped: tags for completions OpenAI stores; Anthropic's metadata holds only user_id, and the answer is the same",
}

local FINISH = {
  end_turn = "stop", stop_sequence = "stop", pause_turn = "stop",
  max_tokens = "length", model_context_window_exceeded = "length",
  tool_use = "tool_calls", refusal = "content_filter",
}

local function finish_reason(stop_reason)
  if stop_reason == nil or stop_reason == null then return null end
  return FINISH[stop_reason] or "stop"
end

-- OpenAI content parts -> Anthropic content blocks.
local function blocks_of(content, role)
  if type(content) == "string" then
    if content == "" then return array() end
    return array({ { type = "text", text = content } })
  end
  local blocks = array()
  if type(content) ~= "table" then return blocks end
  for _, part in ipairs(content) do
    if part.type == "text" then
      blocks[#blocks + 1] = { type = "text", text = part.text }
    elseif part.type == "image_url" then
      local kind, a, b = chat.image_of(part)
      if kind == "data" then
        blocks[#blocks + 1] = { type = "image", source = { type = "base64", media_type = a, data = b } }
      elseif kind == "url" then
        blocks[#blocks + 1] = { type = "image", source = { type = "url", url = a } }
      elseif type(a) ~= "string" then
        error(chat.bad_request("image_url.url must be a string", "messages"))
      else
        error(chat.bad_request("image_url.url must be an http(s) URL or a base64 data URL", "messages"))
      end
    else
      chat.unsupported_part(NAME, part, role)
    end
    -- Prompt caching: the part's breakpoint stays on its block.
    local marker = part.cache_control
    if marker ~= nil and marker ~= null then blocks[#blocks].cache_control = marker end
  end
  return blocks
end

-- A message's own cache_control (clients that mark a whole message) goes on its last block.
local function mark_last(blocks, m, index)
  local marker = reasoning.cache_control(m, "messages[" .. index .. "]")
  if marker and #blocks > 0 then blocks[#blocks].cache_control = marker end
  return blocks
end

-- Every cache_control in the parts of a message, checked before blocks_of copies them.
local function check_markers(m, index)
  if type(m.content) ~= "table" then return false end
  local any = false
  for j, part in ipairs(m.content) do
    if reasoning.cache_control(part, "messages[" .. index .. "].content[" .. (j - 1) .. "]") then any = true end
  end
  return any
end

local function translate_messages(body)
  local system, system_blocks, cached_system = {}, array(), false
  local messages = array()
  for index, m in ipairs(body.messages) do
    local role = m.role
    local marked = check_markers(m, index - 1)
    if role == "system" or role == "developer" then
      system[#system + 1] = chat.text_of(m.content)
      -- Kept as blocks too: with a cache_control anywhere in them, system goes as a list of text
      -- blocks with the breakpoints where the client put them.
      local blocks = marked and blocks_of(m.content, role) or array({ { type = "text", text = system[#system] } })
      mark_last(blocks, m, index - 1)
      if marked or blocks[#blocks].cache_control then cached_system = true end
      for _, block in ipairs(blocks) do
        if block.text ~= "" then system_blocks[#system_blocks + 1] = block end
      end
    elseif role == "user" then
      chat.push_turn(messages, "user", mark_last(blocks_of(m.content, "user"), m, index - 1))
    elseif role == "assistant" then
      local blocks = array()
      -- Thinking first, as Claude wrote it: a tool-use turn must carry its signed thinking back.
      for _, block in ipairs(reasoning.thinking_blocks(m, index - 1) or {}) do
        if block.type == "thinking" then
          blocks[#blocks + 1] = { type = "thinking", thinking = block.thinking, signature = block.signature }
        else
          blocks[#blocks + 1] = { type = "redacted_thinking", data = block.data }
        end
      end
      for _, block in ipairs(blocks_of(m.content, "assistant")) do blocks[#blocks + 1] = block end
      if type(m.tool_calls) == "table" then
        for _, call in ipairs(m.tool_calls) do
          local fn = call["function"] or {}
          local input = chat.tool_arguments(call, index - 1)
          blocks[#blocks + 1] = { type = "tool_use", id = call.id, name = fn.name, input = input }
        end
      end
      chat.push_turn(messages, "assistant", mark_last(blocks, m, index - 1))
    elseif role == "tool" then
      local result = { type = "tool_result", tool_use_id = m.tool_call_id }
      if type(m.content) == "string" then
        result.content = m.content
      else
        result.content = blocks_of(m.content, "tool")
      end
      result.cache_control = reasoning.cache_control(m, "messages[" .. (index - 1) .. "]")
      chat.push_turn(messages, "user", array({ result }))
    else
      chat.unsupported_role(NAME, role)
    end
  end
  return system, messages, cached_system and system_blocks or nil
end

local TOOL_CHOICE = { auto = "auto", none = "none", required = "any", ["function"] = "tool" }

local function translate_tools(body, out)
  local functions = chat.function_tools(body, NAME)
  if functions then
    local tools = array()
    for i, fn in ipairs(functions) do
      tools[i] = {
        name = fn.name, description = fn.description,
        input_schema = fn.parameters or { type = "object", properties = {} },
        cache_control = reasoning.cache_control(body.tools[i], "tools[" .. (i - 1) .. "]"),
      }
    end
    out.tools = tools
  end
  local choice, name = chat.tool_choice(body)
  if choice then out.tool_choice = { type = TOOL_CHOICE[choice], name = name } end
  if body.parallel_tool_calls == false and out.tools then
    out.tool_choice = out.tool_choice or { type = "auto" }
    out.tool_choice.disable_parallel_tool_use = true
  end
end

function M.request(ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  params.check(M, body, "Anthropic Messages")
  chat.check_common(body, NAME)
  -- Structured outputs: a json_schema is Anthropic's output_config.format (models without
  -- structured outputs answer with Anthropic's 400). json_object has no counterpart (no JSON
  -- mode without a schema) and is refused.
  local schema = chat.json_schema_format(body, NAME)
  local output_config = schema and { format = { type = "json_schema", schema = schema } } or nil

  local system, messages, system_blocks = translate_messages(body)
  local max_tokens = chat.max_tokens(body, nil)
  local think = reasoning.request(body, body.model, max_tokens, DEFAULT_MAX_TOKENS)
  if think then
    max_tokens = think.max_tokens
    if think.effort then
      output_config = output_config or {}
      output_config.effort = think.effort
    end
  end
  local out = {
    model = body.model,
    messages = messages,
    max_tokens = max_tokens or DEFAULT_MAX_TOKENS,
    thinking = think and think.thinking or nil,
    output_config = output_config,
    temperature = body.temperature,
    top_p = body.top_p,
    stop_sequences = chat.stop_list(body.stop),
    stream = body.stream == true or nil,
  }
  if system_blocks then
    out.system = system_blocks
  elseif #system > 0 then
    out.system = table.concat(system, "\n\n")
  end
  local user_id = type(body.safety_identifier) == "string" and body.safety_identifier or body.user
  if type(user_id) == "string" then out.metadata = { user_id = user_id } end
  translate_tools(body, out)
  chat.note_request(ctx, body)
  return out
end

local function usage_of(u)
  if type(u) ~= "table" then return chat.usage(0, 0) end
  local cached = u.cache_read_input_tokens or 0
  local created = u.cache_creation_input_tokens or 0
  return reasoning.add_reasoning_tokens(
    chat.usage((u.input_tokens or 0) + cached + created, u.output_tokens or 0, cached), u.output_tokens_details)
end

function M.response(ctx, res)
  local m = res.body
  if type(m) ~= "table" or m.type ~= "message" or type(m.content) ~= "table" then
    error(chat.upstream_error(NAME .. " answered 2xx with something that is not a message"))
  end
  local text, tool_calls = {}, array()
  local thinking = reasoning.collector()
  for _, block in ipairs(m.content) do
    if block.type == "text" then
      text[#text + 1] = block.text
    elseif block.type == "thinking" then
      thinking.add({ type = "thinking", thinking = block.thinking or "", signature = block.signature or "" })
    elseif block.type == "redacted_thinking" then
      thinking.add({ type = "redacted_thinking", data = block.data })
    elseif block.type == "tool_use" then
      tool_calls[#tool_calls + 1] = {
        id = block.id, type = "function",
        ["function"] = { name = block.name, arguments = json.encode(block.input or {}) },
      }
    end
  end
  local message = { role = "assistant", content = #text > 0 and table.concat(text) or null, refusal = null }
  if #tool_calls > 0 then message.tool_calls = tool_calls end
  thinking.finish(message)
  return { body = chat.completion(m.id, m.model or ctx.requested_model, message, finish_reason(m.stop_reason),
                                  usage_of(m.usage)) }
end

-- One upstream event in, zero or more OpenAI chunks out. State lives in ctx; the lifecycle (an
-- end before message_stop, nothing after a failure) is openai_chat's.
local function stream_event(ctx, event)
  local data = event.data
  if type(data) ~= "table" then return chat.not_json(ctx, NAME, event) end
  local kind = data.type or event.event
  local out = {}
  if kind == "message_start" then
    local m = data.message or {}
    ctx.usage = m.usage or {}
    ctx.tools = 0
    ctx.tool_index = {}
    ctx.thinking = {}
    out[1] = chat.start(ctx, m.id, m.model or ctx.requested_model)
  elseif kind == "content_block_start" then
    local block = data.content_block or {}
    if block.type == "tool_use" then
      local index = ctx.tools
      ctx.tools = index + 1
      ctx.tool_index[data.index] = index
      out[1] = chat.delta(ctx, { tool_calls = array({ {
        index = index, id = block.id, type = "function", ["function"] = { name = block.name, arguments = "" },
      } }) })
    elseif block.type == "text" and type(block.text) == "string" and block.text ~= "" then
      out[1] = chat.delta(ctx, { content = block.text })
    elseif block.type == "thinking" then
      -- Kept whole until content_block_stop, when it goes out with its signature.
      local text = type(block.thinking) == "string" and block.thinking or ""
      ctx.thinking = ctx.thinking or {}
      ctx.thinking[data.index or 0] = { type = "thinking", thinking = text,
                                   signature = type(block.signature) == "string" and block.signature or "" }
      if text ~= "" then out[1] = chat.delta(ctx, { reasoning_content = text }) end
    elseif block.type == "redacted_thinking" then
      ctx.thinking = ctx.thinking or {}
      ctx.thinking[data.index or 0] = { type = "redacted_thinking", data = block.data }
    end
  elseif kind == "content_block_delta" then
    local delta = data.delta or {}
    if delta.type == "text_delta" then
      out[1] = chat.delta(ctx, { content = delta.text })
    elseif delta.type == "thinking_delta" or delta.type == "signature_delta" then
      local block = ctx.thinking and ctx.thinking[data.index or 0]
      if block == nil or block.type ~= "thinking" then
        return chat.fail_stream(ctx, NAME .. " sent thinking for a block that was never started", "invalid_upstream_event")
      end
      if delta.type == "signature_delta" then
        block.signature = block.signature .. tostring(delta.signature or "")
      elseif type(delta.thinking) == "string" and delta.thinking ~= "" then
        block.thinking = block.thinking .. delta.thinking
        out[1] = chat.delta(ctx, { reasoning_content = delta.thinking })
      end
    elseif delta.type == "input_json_delta" then
      local index = ctx.tool_index[data.index]
      if index == nil then
        return chat.fail_stream(ctx, NAME .. " sent tool input for a block that was never started",
          "invalid_upstream_event")
      end
      out[1] = chat.delta(ctx, { tool_calls = array({ {
        index = index, ["function"] = { arguments = delta.partial_json },
      } }) })
    end
  elseif kind == "content_block_stop" then
    -- A finished thinking block goes to the client whole (thinking, signature / data), so it can
    -- send it back on the assistant message of the next turn.
    local block = ctx.thinking and ctx.thinking[data.index or 0]
    if block then
      ctx.thinking[data.index or 0] = nil
      out[1] = chat.delta(ctx, { thinking_blocks = array({ block }) })
    end
  elseif kind == "message_delta" then
    if type(data.usage) == "table" then
      for key, value in pairs(data.usage) do ctx.usage[key] = value end
    end
    local delta = data.delta or {}
    out[1] = chat.finish(ctx, finish_reason(delta.stop_reason))
  elseif kind == "message_stop" then
    return chat.close(ctx, usage_of(ctx.usage))
  elseif kind == "error" then
    local e = data.error or {}
    return chat.fail_stream(ctx, NAME .. ": " .. tostring(e.message or "stream error"), e.type, e.type)
  end
  -- ping, content_block_stop of other blocks and event types added after this was written carry nothing to
  -- translate (Anthropic documents that new event types may appear and should be ignored).
  return out
end

M.stream = chat.stream_translator { name = NAME, terminal = "message_stop", event = stream_event }

return M
