-- Converter messages → chat/completions: the Anthropic Messages dialect on top of any
-- chat-completions provider. `POST /v1/messages` requests become OpenAI chat requests, and OpenAI
-- answers and chunks become Anthropic messages and events. The gateway picks this module (by its
-- `from` and `to`) for providers whose endpoint table has chat/completions but not messages, and
-- for a provider's `prepare` that answers `{ via = "chat/completions" }`:
--   request(ctx, body)            before the provider's prepare, returns the OpenAI request
--   response(ctx, provider, res)  returns the Anthropic message for a complete 2xx answer
--   stream(ctx, provider, event)  returns the Anthropic events for one upstream event
-- The provider's own response/stream translation (if it has one) runs first, so this works for
-- OpenAI-compatible and translating providers alike.
-- Every request field is declared in M.params (mapped, refused or dropped with the reason; see
-- lib/params.lua and providers/README.md, "Map or refuse"); the chat request it makes is checked
-- again by the provider's own converter, if it has one.
-- Reasoning: thinking {type = "enabled", budget_tokens} -> reasoning_effort (low below 2048,
-- medium below 8192, else high), output_config.effort -> reasoning_effort (it wins); the answer's
-- reasoning_content (or `reasoning`, as some providers name it) becomes a thinking block before the
-- text, with an empty signature (a chat provider signs nothing; the anthropic SDK reads it as a
-- string). Structured output: output_config.format / output_format json_schema -> response_format
-- json_schema (strict).
local chat = require("openai_chat")
local validate = require("validate")
local params = require("params")
local reasoning = require("claude_reasoning")

local M = { from = "messages", to = "chat/completions" }

M.params = {
  model = "mapped", messages = "mapped", max_tokens = "mapped", system = "mapped", stop_sequences = "mapped",
  stream = "mapped", temperature = "mapped", top_p = "mapped", tools = "mapped", tool_choice = "mapped",
  metadata = "mapped",  -- metadata.user_id -> user
  thinking = "mapped",       -- enabled: reasoning_effort from budget_tokens; disabled, adaptive: none sent
  output_config = "mapped",  -- format: response_format json_schema; effort: reasoning_effort
  output_format = "mapped",  -- the older (beta) spelling of output_config.format
  -- they change the answer (or where it is computed) and the chat dialect has nothing for them
  top_k = "refused", container = "refused",
  mcp_servers = "refused", context_management = "refused", inference_geo = "refused",
  cache_control = "dropped: a prompt-cache marker; the chat dialect has none, and the answer is the same",
  diagnostics = "dropped: asks for prompt-cache diagnostics, which a chat provider does not report; the answer is the same",
  service_tier = "dropped: Anthropic's capacity tier; the provider serves at its own and the answer is the same",
  speed = "dropped: Anthropic's fast-output mode; the provider answers at its own speed and the answer is the same",
  user_profile_id = "dropped: attributes the request to a party on Anthropic's side; the answer is the same",
  workspace_id = "dropped: selects an Anthropic workspace for the credentials, which another provider does not have",
}
local null = gw.json.null
local array = gw.json.array
local json = gw.json

local STOP = { stop = "end_turn", length = "max_tokens", tool_calls = "tool_use", function_call = "tool_use",
               content_filter = "refusal" }

local function bad(message, param) error(chat.bad_request(message, param)) end

local function text_of_blocks(content)
  if type(content) == "string" then return content end
  local pieces = {}
  for _, block in ipairs(type(content) == "table" and content or {}) do
    if block.type == "text" then pieces[#pieces + 1] = block.text end
  end
  return table.concat(pieces)
end

local function user_parts(blocks, out, index)
  local parts = array()
  for _, block in ipairs(blocks) do
    if block.type == "text" then
      parts[#parts + 1] = { type = "text", text = block.text }
    elseif block.type == "image" and type(block.source) == "table" then
      local source = block.source
      if source.type == "base64" then
        parts[#parts + 1] = { type = "image_url", image_url = { url = "data:" .. tostring(source.media_type) ..
          ";base64," .. tostring(source.data) } }
      elseif source.type == "url" then
        parts[#parts + 1] = { type = "image_url", image_url = { url = source.url } }
      else
        bad("messages[" .. index .. "]: image source '" .. tostring(source.type) .. "' is not supported here", "messages")
      end
    elseif block.type == "tool_result" then
      -- Tool results are separate messages in OpenAI's dialect, answered before the user's words.
      local content = block.content
      local text = type(content) == "string" and content or text_of_blocks(content)
      if block.is_error then text = "Error: " .. text end
      out[#out + 1] = { role = "tool", tool_call_id = block.tool_use_id, content = text }
    else
      bad("messages[" .. index .. "]: content blocks of type '" .. tostring(block.type) ..
        "' are not supported for this provider", "messages")
    end
  end
  return parts
end

-- `options.count_tokens`: the body is a count_tokens request (no max_tokens); the chat request made
-- from it has none either (lib/gemini_count_tokens.lua).
function M.request(ctx, body, options)
  if type(body) ~= "table" then bad("the request body must be a JSON object") end
  params.check(M, body, "a chat/completions provider")
  validate.messages_request(body)
  local effort = nil
  local thinking = body.thinking
  if thinking ~= nil and thinking ~= null then
    if type(thinking) ~= "table" then validate.wrong("thinking", "an object", thinking) end
    if thinking.type == "enabled" then
      if math.type(thinking.budget_tokens) ~= "integer" then
        validate.wrong("thinking.budget_tokens", "an integer", thinking.budget_tokens)
      end
      effort = reasoning.effort_of_budget(thinking.budget_tokens)
    elseif thinking.type ~= "disabled" and thinking.type ~= "adaptive" then
      -- adaptive: the model decides whether to think, as a chat provider's reasoning model does
      bad("thinking type '" .. tostring(thinking.type) .. "' is not translated to chat/completions providers; " ..
        "use enabled, adaptive or disabled", "thinking")
    end
  end
  local format = nil
  local function schema_format(value, path)
    if type(value) ~= "table" or value.type ~= "json_schema" or type(value.schema) ~= "table" then
      bad(path .. " must be {\"type\": \"json_schema\", \"schema\": {...}}", path)
    end
    return { type = "json_schema", json_schema = { name = "output", schema = value.schema, strict = true } }
  end
  local config = body.output_config
  if config ~= nil and config ~= null then
    if type(config) ~= "table" then validate.wrong("output_config", "an object", config) end
    for key, value in pairs(config) do
      if value == null then
        -- absent
      elseif key == "format" then
        format = schema_format(value, "output_config.format")
      elseif key == "effort" then
        local EFFORT = { low = "low", medium = "medium", high = "high", xhigh = "xhigh", max = "xhigh" }
        if not EFFORT[value] then bad("output_config.effort must be low, medium, high, xhigh or max", "output_config.effort") end
        effort = EFFORT[value]
      else
        bad("output_config." .. tostring(key) .. " is not translated to chat/completions providers", "output_config")
      end
    end
  end
  if body.output_format ~= nil and body.output_format ~= null then
    if format then bad("send output_config.format or output_format, not both", "output_format") end
    format = schema_format(body.output_format, "output_format")
  end
  if type(body.messages) ~= "table" or #body.messages == 0 then bad("messages must be a non-empty array", "messages") end
  if math.type(body.max_tokens) ~= "integer" and not (options and options.count_tokens) then
    bad("max_tokens is required and must be an integer", "max_tokens")
  end
  local out = {
    model = body.model, max_tokens = body.max_tokens, temperature = body.temperature, top_p = body.top_p,
    stop = body.stop_sequences, messages = array(), reasoning_effort = effort, response_format = format,
  }
  if body.stream == true then
    out.stream = true
    out.stream_options = { include_usage = true }  -- message_delta carries the output token count
  end
  local system = body.system
  if system ~= nil and system ~= null then
    out.messages[1] = { role = "system", content = text_of_blocks(system) }
  end
  for index, m in ipairs(body.messages) do
    local i = index - 1
    if m.role == "user" then
      if type(m.content) == "string" then
        out.messages[#out.messages + 1] = { role = "user", content = m.content }
      else
        local parts = user_parts(type(m.content) == "table" and m.content or {}, out.messages, i)
        if #parts > 0 then out.messages[#out.messages + 1] = { role = "user", content = parts } end
      end
    elseif m.role == "assistant" then
      local message = { role = "assistant" }
      if type(m.content) == "string" then
        message.content = m.content
      else
        local text, calls = {}, array()
        for _, block in ipairs(type(m.content) == "table" and m.content or {}) do
          if block.type == "text" then
            text[#text + 1] = block.text
          elseif block.type == "tool_use" then
            calls[#calls + 1] = { id = block.id, type = "function",
                                  ["function"] = { name = block.name, arguments = json.encode(block.input or {}) } }
          end  -- thinking blocks have no OpenAI counterpart and are left out
        end
        message.content = #text > 0 and table.concat(text) or null
        if #calls > 0 then message.tool_calls = calls end
      end
      out.messages[#out.messages + 1] = message
    else
      bad("messages[" .. i .. "].role must be user or assistant", "messages")
    end
  end
  if type(body.tools) == "table" and #body.tools > 0 then
    out.tools = array()
    for _, tool in ipairs(body.tools) do
      if tool.type ~= nil and tool.type ~= "custom" then
        bad("server tools ('" .. tostring(tool.type) .. "') are Anthropic's own and not available here", "tools")
      end
      out.tools[#out.tools + 1] = { type = "function", ["function"] = {
        name = tool.name, description = tool.description, parameters = tool.input_schema } }
    end
  end
  local choice = body.tool_choice
  if type(choice) == "table" then
    if choice.type == "auto" then out.tool_choice = "auto"
    elseif choice.type == "any" then out.tool_choice = "required"
    elseif choice.type == "none" then out.tool_choice = "none"
    elseif choice.type == "tool" then out.tool_choice = { type = "function", ["function"] = { name = choice.name } }
    end
    if choice.disable_parallel_tool_use == true then out.parallel_tool_calls = false end
  end
  if type(body.metadata) == "table" and type(body.metadata.user_id) == "string" then out.user = body.metadata.user_id end
  ctx.messages_model = body.model
  return out
end

local function anthropic_usage(u)
  if type(u) ~= "table" then return { input_tokens = 0, output_tokens = 0 } end
  local cached = type(u.prompt_tokens_details) == "table" and u.prompt_tokens_details.cached_tokens or 0
  local usage = { input_tokens = (u.prompt_tokens or 0) - cached, output_tokens = u.completion_tokens or 0,
                  cache_read_input_tokens = cached }
  -- Reasoning tokens (inside completion_tokens, as thinking is inside Anthropic's output_tokens).
  local details = u.completion_tokens_details
  if type(details) == "table" and math.type(details.reasoning_tokens) == "integer" then
    usage.output_tokens_details = { thinking_tokens = details.reasoning_tokens }
  end
  return usage
end

local function message_id(id)
  id = tostring(id or gw.uuid())
  if id:sub(1, 4) == "msg_" then return id end
  return "msg_" .. id
end

function M.response(ctx, provider, res)
  local completion = chat.provider_completion(ctx, provider, res)
  local choice = completion.choices[1]
  local message = choice.message or {}
  local content = array()
  local thought = message.reasoning_content
  if type(thought) ~= "string" then thought = message.reasoning end
  if type(thought) == "string" and thought ~= "" then
    content[1] = { type = "thinking", thinking = thought, signature = "" }
  end
  if type(message.content) == "string" and message.content ~= "" then
    content[#content + 1] = { type = "text", text = message.content }
  end
  for _, call in ipairs(type(message.tool_calls) == "table" and message.tool_calls or {}) do
    local fn = call["function"] or {}
    local ok, input = pcall(json.decode, fn.arguments or "{}")
    if not ok or type(input) ~= "table" then input = {} end
    content[#content + 1] = { type = "tool_use", id = call.id, name = fn.name, input = input }
  end
  return { body = {
    id = message_id(completion.id), type = "message", role = "assistant",
    model = completion.model or ctx.messages_model, content = content,
    stop_reason = STOP[choice.finish_reason] or "end_turn", stop_sequence = null,
    usage = anthropic_usage(completion.usage),
  } }
end

-- OpenAI chunks -> Anthropic events. One open content block at a time, as Anthropic streams them.
local function convert(ctx, s, item, out)
  local function emit(name, data) out[#out + 1] = { event = name, data = data } end
  local function close_block()
    if s.open ~= nil then
      emit("content_block_stop", { type = "content_block_stop", index = s.open })
      s.open = nil
    end
  end
  local function finish()
    if s.finished then return end
    s.finished = true
    close_block()
    local usage = anthropic_usage(s.usage)
    emit("message_delta", { type = "message_delta", delta = { stop_reason = s.stop_reason or "end_turn", stop_sequence = null },
                            usage = { input_tokens = usage.input_tokens, output_tokens = usage.output_tokens,
                                      cache_read_input_tokens = usage.cache_read_input_tokens,
                                      output_tokens_details = usage.output_tokens_details } })
    emit("message_stop", { type = "message_stop" })
  end
  local function fail(message)
    s.failed = true
    emit("error", { type = "error", error = { type = "api_error", message = message } })
  end

  if item == "[DONE]" then
    if not s.stop_reason then return fail("the provider's stream ended without a finish reason") end
    return finish()
  end
  if type(item) ~= "table" then return end
  if type(item.error) == "table" then return fail(tostring(item.error.message or "upstream stream error")) end
  if not s.started then
    s.started = true
    emit("message_start", { type = "message_start", message = {
      id = message_id(item.id), type = "message", role = "assistant", model = item.model or ctx.messages_model,
      content = array(), stop_reason = null, stop_sequence = null, usage = { input_tokens = 0, output_tokens = 0 } } })
  end
  if type(item.usage) == "table" then s.usage = item.usage end
  local choice = type(item.choices) == "table" and item.choices[1] or nil
  if type(choice) ~= "table" then return end
  local delta = type(choice.delta) == "table" and choice.delta or {}
  local thought = delta.reasoning_content
  if type(thought) ~= "string" then thought = delta.reasoning end
  if type(thought) == "string" and thought ~= "" then
    if s.open == nil or s.open_kind ~= "thinking" then
      close_block()
      s.open, s.open_kind, s.blocks = s.blocks, "thinking", s.blocks + 1
      emit("content_block_start", { type = "content_block_start", index = s.open,
                                    content_block = { type = "thinking", thinking = "", signature = "" } })
    end
    emit("content_block_delta", { type = "content_block_delta", index = s.open, delta = { type = "thinking_delta", thinking = thought } })
  end
  if type(delta.content) == "string" and delta.content ~= "" then
    if s.open == nil or s.open_kind ~= "text" then
      close_block()
      s.open, s.open_kind, s.blocks = s.blocks, "text", s.blocks + 1
      emit("content_block_start", { type = "content_block_start", index = s.open, content_block = { type = "text", text = "" } })
    end
    emit("content_block_delta", { type = "content_block_delta", index = s.open, delta = { type = "text_delta", text = delta.content } })
  end
  for _, call in ipairs(type(delta.tool_calls) == "table" and delta.tool_calls or {}) do
    local key = call.index or 0
    if s.open_kind ~= "tool" or s.open_tool ~= key then
      close_block()
      local fn = call["function"] or {}
      s.open, s.open_kind, s.open_tool, s.blocks = s.blocks, "tool", key, s.blocks + 1
      emit("content_block_start", { type = "content_block_start", index = s.open, content_block = {
        type = "tool_use", id = call.id or ("toolu_" .. gw.uuid():gsub("-", "")), name = fn.name, input = {} } })
    end
    local arguments = call["function"] and call["function"].arguments
    if type(arguments) == "string" and arguments ~= "" then
      emit("content_block_delta", { type = "content_block_delta", index = s.open,
                                    delta = { type = "input_json_delta", partial_json = arguments } })
    end
  end
  if choice.finish_reason ~= nil and choice.finish_reason ~= null then
    s.stop_reason = STOP[choice.finish_reason] or "end_turn"
  end
end

function M.stream(ctx, provider, event)
  local s = ctx.messages_stream
  if not s then
    s = { blocks = 0 }
    ctx.messages_stream = s
  end
  if s.failed or s.finished then return nil end
  local out = {}
  for _, item in ipairs(chat.provider_chunks(ctx, provider, event)) do
    convert(ctx, s, item, out)
    if s.failed or s.finished then break end
  end
  if event.done and not s.finished and not s.failed then
    -- The chat stream ended without its terminal `data: [DONE]` (after the finish chunk comes the
    -- usage chunk, then [DONE]): the answer may be incomplete, so the client is told.
    s.failed = true
    out[#out + 1] = { event = "error", data = { type = "error", error = { type = "api_error",
      message = "the provider's stream ended before it finished (no [DONE])" ..
        (event.truncated and " (cut inside an event)" or "") } } }
  end
  return out
end

return M
