-- Converter: OpenAI chat completions -> Amazon Bedrock Converse / ConverseStream
-- (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html), and the
-- answers and streams back. Used by the bedrock provider, which builds the URL and signs the body:
--   request(ctx, body)  -> the Converse request body (notes in ctx); with ctx.fetch_list set when
--                          image URLs must be fetched first (the provider returns { fetch = ... })
--   response(ctx, res)  -> a chat.completion
--   stream(ctx, event)  -> chat.completion.chunk events, then [DONE]; the host decodes
--                          ConverseStream's binary event stream into one event per frame
--
-- Every request field is declared in M.params (mapped, refused or dropped with the reason; see
-- lib/params.lua and providers/README.md, "Map or refuse"): metadata maps to requestMetadata (the
-- invocation-log tags). Refused with 400 (the client relies on them and Converse has nothing that
-- honours them): the fields declared "refused" (seed, presence_penalty, frequency_penalty,
-- logit_bias, …); n other than 1, logprobs, modalities other than text (openai_chat.check_common);
-- parallel_tool_calls false with tools; response_format json_object (json_schema is
-- outputConfig.textFormat); content parts other than text, and images outside user messages;
-- images other than png, jpeg, gif or webp (as base64 data URLs, or http(s) URLs the gateway fetches: Converse takes
-- bytes); roles other than system/developer/user/assistant/tool; tool-call arguments that are not
-- a JSON object.
-- tool_choice "none" leaves the tools out (Converse has no "none").
-- Reasoning (Claude models): reasoning_effort -> additionalModelRequestFields.thinking
-- {type = "enabled", budget_tokens}, or for Claude 4.6 and later {type = "adaptive"} with
-- output_config.effort (lib/claude_reasoning.lua has the budgets; other models refuse it);
-- reasoningContent blocks come back as message.reasoning_content and message.thinking_blocks
-- in Anthropic's shapes (streamed: delta.reasoning_content, then each whole block in a
-- delta.thinking_blocks when it ends), and an assistant message's thinking_blocks go back first in
-- its content as reasoningContent. Prompt caching: a cache_control on a content part, a message, a
-- system part or a tool puts a cachePoint block after it.
local chat = require("openai_chat")
local params = require("params")
local reasoning = require("claude_reasoning")
local validate = require("validate")

local null = gw.json.null
local array = gw.json.array
local json = gw.json

local NAME = "Amazon Bedrock"
local M = { from = "chat/completions", to = "bedrock_converse" }

M.params = chat.chat_params {
  metadata = "mapped",             -- requestMetadata
  parallel_tool_calls = "mapped",  -- true is Converse's way; false with tools is refused
  reasoning_effort = "mapped",     -- Claude: additionalModelRequestFields.thinking; other models refuse it
  seed = "refused", presence_penalty = "refused", frequency_penalty = "refused",
}

local STOP = { end_turn = "stop", stop_sequence = "stop", max_tokens = "length", tool_use = "tool_calls",
               guardrail_intervened = "content_filter", content_filtered = "content_filter" }
-- A cache_control marker as Converse's cachePoint block (its ttl, 5m or 1h, carried as given).
local function cache_point(marker)
  return { cachePoint = { type = "default", ttl = type(marker.ttl) == "string" and marker.ttl or nil } }
end
local DEFAULT_MAX_TOKENS = 4096  -- with thinking only: Converse has its own default otherwise

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
      -- Bedrock needs the bytes of an http(s) image: the gateway fetches it and prepare runs again.
      local kind, media_type, data = chat.image_of(part, ctx, true)
      if kind ~= "fetching" then
        local format = kind == "data" and IMAGE_FORMATS[media_type]
        if not format then
          error(chat.bad_request(NAME .. " accepts png, jpeg, gif or webp images, as URLs or base64 data URLs" ..
            (kind == "data" and (" (got " .. media_type .. ")") or ""), "messages"))
        end
        blocks[#blocks + 1] = { image = { format = format, source = { bytes = data } } }
      end
    else
      chat.unsupported_part(NAME, part, role)
    end
    -- Prompt caching: a cachePoint right after the marked part.
    local marker = reasoning.cache_control(part, "messages")
    if marker and #blocks > 0 then blocks[#blocks + 1] = cache_point(marker) end
  end
  return blocks
end

-- A message's own cache_control (clients that mark a whole message): a cachePoint after it.
local function mark_end(blocks, m, index)
  local marker = reasoning.cache_control(m, "messages[" .. index .. "]")
  if marker and #blocks > 0 and blocks[#blocks].cachePoint == nil then
    blocks[#blocks + 1] = cache_point(marker)
  end
  return blocks
end

function M.request(ctx, body)
  params.check(M, body, NAME .. " Converse")
  chat.check_common(body, NAME)
  chat.parallel_tools_default_only(body, NAME)
  -- Structured output: a json_schema is Converse's outputConfig.textFormat (the schema as a JSON
  -- string); json_object has no counterpart (no JSON mode without a schema) and is refused.
  local schema = chat.json_schema_format(body, NAME .. " Converse")
  local output_config
  if schema then
    local named = body.response_format.json_schema
    output_config = { textFormat = { type = "json_schema", structure = { jsonSchema = {
      schema = validate.encode(schema, body), name = type(named.name) == "string" and named.name or nil,
      description = type(named.description) == "string" and named.description or nil } } } }
  end
  local system, messages = array(), array()
  for index, m in ipairs(body.messages) do
    if m.role == "system" or m.role == "developer" then
      local marked = false
      for _, part in ipairs(type(m.content) == "table" and m.content or {}) do
        if reasoning.cache_control(part, "messages[" .. (index - 1) .. "]") then marked = true end
      end
      if marked then
        -- Each text part its own block, so the cachePoints fall where the client marked.
        for _, block in ipairs(blocks_of(m.content, "system", ctx)) do system[#system + 1] = block end
      else
        system[#system + 1] = { text = chat.text_of(m.content) }
      end
      mark_end(system, m, index - 1)
    elseif m.role == "user" then
      chat.push_turn(messages, "user", mark_end(blocks_of(m.content, "user", ctx), m, index - 1))
    elseif m.role == "assistant" then
      local blocks = array()
      -- Thinking first, as Claude wrote it: a tool-use turn must carry its signed reasoning back.
      for _, block in ipairs(reasoning.thinking_blocks(m, index - 1) or {}) do
        if block.type == "thinking" then
          blocks[#blocks + 1] = { reasoningContent = { reasoningText = { text = block.thinking, signature = block.signature } } }
        else
          blocks[#blocks + 1] = { reasoningContent = { redactedContent = block.data } }
        end
      end
      for _, block in ipairs(blocks_of(m.content, "assistant", ctx)) do blocks[#blocks + 1] = block end
      for _, call in ipairs(type(m.tool_calls) == "table" and m.tool_calls or {}) do
        local fn = call["function"] or {}
        local input = chat.tool_arguments(call, index - 1)
        blocks[#blocks + 1] = { toolUse = { toolUseId = call.id, name = fn.name, input = input } }
      end
      chat.push_turn(messages, "assistant", mark_end(blocks, m, index - 1))
    elseif m.role == "tool" then
      local text, object = chat.tool_result(m)
      local content = object and array({ { json = object } }) or array({ { text = text } })
      chat.push_turn(messages, "user", mark_end(array({ { toolResult = { toolUseId = m.tool_call_id, content = content } } }),
        m, index - 1))
    else
      chat.unsupported_role(NAME, m.role)
    end
  end
  local max_tokens = chat.max_tokens(body, nil)
  local think = reasoning.request(body, body.model, max_tokens, DEFAULT_MAX_TOKENS)
  local out = {
    messages = messages,
    outputConfig = output_config,
    inferenceConfig = {
      maxTokens = max_tokens, temperature = body.temperature, topP = body.top_p,
      stopSequences = chat.stop_list(body.stop),
    },
  }
  if think then
    -- Claude's extended thinking is a model-specific field in Converse; other Bedrock models have
    -- their own (or none), so the effort is refused for them rather than dropped.
    if type(body.model) ~= "string" or not body.model:find("anthropic%.claude") then
      error(chat.bad_request(NAME .. ": reasoning_effort is translated for Claude models (anthropic.claude…) only",
        "reasoning_effort"))
    end
    out.inferenceConfig.maxTokens = think.max_tokens
    out.additionalModelRequestFields = { thinking = think.thinking,
                                         output_config = think.effort and { effort = think.effort } or nil }
  end
  if #system > 0 then out.system = system end
  local metadata = body.metadata
  if metadata ~= nil and metadata ~= null and (type(metadata) ~= "table" or json.is_array(metadata)) then
    error(chat.bad_request("metadata must be an object of string values", "metadata"))
  end
  if metadata ~= nil and metadata ~= null and next(metadata) ~= nil then
    -- OpenAI's metadata (string keys and values) is what requestMetadata is: tags on the call's log.
    local tags = {}
    for key, value in pairs(body.metadata) do
      if type(value) ~= "string" then
        error(chat.bad_request("metadata values must be strings (metadata." .. tostring(key) .. ")", "metadata"))
      end
      tags[key] = value
    end
    out.requestMetadata = tags
  end
  local functions = chat.function_tools(body, NAME)
  local choice, name = chat.tool_choice(body)
  if functions and choice ~= "none" then
    local tools = array()
    for i, fn in ipairs(functions) do
      tools[#tools + 1] = { toolSpec = { name = fn.name, description = fn.description,
                                         inputSchema = { json = fn.parameters or { type = "object", properties = {} } } } }
      local marker = reasoning.cache_control(body.tools[i], "tools[" .. (i - 1) .. "]")
      if marker then tools[#tools + 1] = cache_point(marker) end
    end
    out.toolConfig = { tools = tools }
    if choice == "auto" then
      out.toolConfig.toolChoice = { auto = {} }
    elseif choice == "required" then
      out.toolConfig.toolChoice = { any = {} }
    elseif choice == "function" then
      out.toolConfig.toolChoice = { tool = { name = name } }
    end
  end
  chat.note_request(ctx, body)
  return out
end

local function usage_of(u)
  if type(u) ~= "table" then return chat.usage(0, 0) end
  local cached = u.cacheReadInputTokens or 0
  return chat.usage((u.inputTokens or 0) + cached + (u.cacheWriteInputTokens or 0), u.outputTokens or 0, cached)
end

function M.response(ctx, res)
  local r = res.body
  local message = type(r) == "table" and type(r.output) == "table" and r.output.message
  if type(message) ~= "table" or type(message.content) ~= "table" then
    error(chat.upstream_error(NAME .. " answered 2xx without output.message"))
  end
  local text, calls = {}, array()
  local thinking = reasoning.collector()
  for _, block in ipairs(message.content) do
    if type(block.text) == "string" then
      text[#text + 1] = block.text
    elseif type(block.reasoningContent) == "table" then
      local r = block.reasoningContent
      if type(r.reasoningText) == "table" then
        thinking.add({ type = "thinking", thinking = r.reasoningText.text or "", signature = r.reasoningText.signature or "" })
      elseif r.redactedContent ~= nil then
        thinking.add({ type = "redacted_thinking", data = r.redactedContent })
      end
    elseif type(block.toolUse) == "table" then
      calls[#calls + 1] = { id = block.toolUse.toolUseId, type = "function",
                            ["function"] = { name = block.toolUse.name, arguments = json.encode(block.toolUse.input or {}) } }
    end
  end
  local out = { role = "assistant", content = #text > 0 and table.concat(text) or null, refusal = null }
  if #calls > 0 then out.tool_calls = calls end
  thinking.finish(out)
  local id = res.headers["x-amzn-requestid"] or gw.uuid()
  return { body = chat.completion("bedrock-" .. id, ctx.requested_model, out, STOP[r.stopReason] or "stop",
                                  usage_of(r.usage)) }
end

-- One ConverseStream event in, zero or more OpenAI chunks out. messageStop carries the finish;
-- metadata (usage) follows it and ends the stream; an upstream that stops after messageStop
-- still gets its [DONE].
local function stream_event(ctx, event)
  local name = event.event or ""
  local data = event.data
  if name:sub(1, 10) == "exception:" then
    local message = type(data) == "table" and data.message or event.text
    return chat.fail_stream(ctx, NAME .. " " .. name:sub(11) .. ": " .. tostring(message), name:sub(11))
  end
  if type(data) ~= "table" then
    return chat.fail_stream(ctx, NAME .. " sent an event that is not JSON", "invalid_upstream_event")
  end
  if name == "messageStart" then
    ctx.tools, ctx.tool_index, ctx.thinking = 0, {}, {}
    return { chat.start(ctx, "bedrock-" .. gw.uuid(), ctx.requested_model) }
  elseif name == "contentBlockStart" then
    local start = type(data.start) == "table" and data.start.toolUse
    if type(start) == "table" then
      local index = ctx.tools
      ctx.tools = index + 1
      ctx.tool_index[data.contentBlockIndex or 0] = index
      return { chat.delta(ctx, { tool_calls = array({ { index = index, id = start.toolUseId, type = "function",
        ["function"] = { name = start.name, arguments = "" } } }) }) }
    end
  elseif name == "contentBlockDelta" then
    local delta = type(data.delta) == "table" and data.delta or {}
    if type(delta.text) == "string" then
      return { chat.delta(ctx, { content = delta.text }) }
    elseif type(delta.reasoningContent) == "table" then
      -- Reasoning text, its signature and redacted reasoning arrive as deltas of one block; the
      -- block goes to the client whole at contentBlockStop.
      local r, at = delta.reasoningContent, data.contentBlockIndex or 0
      ctx.thinking = ctx.thinking or {}
      local block = ctx.thinking[at]
      if r.redactedContent ~= nil then
        ctx.thinking[at] = { type = "redacted_thinking", data = (block and block.data or "") .. tostring(r.redactedContent) }
        return nil
      end
      if block == nil then
        block = { type = "thinking", thinking = "", signature = "" }
        ctx.thinking[at] = block
      end
      if type(r.signature) == "string" then block.signature = block.signature .. r.signature end
      if type(r.text) == "string" and r.text ~= "" then
        block.thinking = block.thinking .. r.text
        return { chat.delta(ctx, { reasoning_content = r.text }) }
      end
      return nil
    elseif type(delta.toolUse) == "table" and type(delta.toolUse.input) == "string" then
      local index = ctx.tool_index[data.contentBlockIndex or 0]
      if index == nil then
        return chat.fail_stream(ctx, NAME .. " sent tool input for a block that never started", "invalid_upstream_event")
      end
      return { chat.delta(ctx, { tool_calls = array({ { index = index,
        ["function"] = { arguments = delta.toolUse.input } } }) }) }
    end
  elseif name == "contentBlockStop" then
    local at = data.contentBlockIndex or 0
    local block = ctx.thinking and ctx.thinking[at]
    if block then
      ctx.thinking[at] = nil
      return { chat.delta(ctx, { thinking_blocks = array({ block }) }) }
    end
  elseif name == "messageStop" then
    return { chat.finish(ctx, STOP[data.stopReason] or "stop") }
  elseif name == "metadata" then
    return chat.close(ctx, usage_of(data.usage))
  end
  return nil
end

M.stream = chat.stream_translator {
  name = NAME, terminal = "messageStop", event = stream_event,
  ended = function(ctx) return chat.close(ctx, nil) end,
}

return M
