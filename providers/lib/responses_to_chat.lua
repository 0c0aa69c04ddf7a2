-- Converter responses → chat/completions: OpenAI's Responses API (`POST /v1/responses`) on top of
-- any chat-completions provider. The gateway picks this module (by its `from` and `to`) for
-- providers whose endpoint table has chat/completions but not responses:
--   request(ctx, body)            before the provider's prepare, returns the chat request
--   response(ctx, provider, res)  returns the `response` object for a complete 2xx answer
--   stream(ctx, provider, event)  returns the Responses events for one upstream event
-- The provider's own response/stream translation (if it has one) runs first, so this works for
-- OpenAI-compatible and translating providers (anthropic, google, bedrock, cohere) alike.
--
-- Mapped: `input` (a string, or items: messages with role user/assistant/system/developer and
-- content as a string or input_text / input_image (URL) / output_text parts; function_call →
-- an assistant tool call; function_call_output → a tool message), `instructions` → a system
-- message, function `tools` (flat, strict kept), `tool_choice`, `parallel_tool_calls`,
-- `text.format` (json_schema / json_object / text → response_format), `reasoning.effort` →
-- reasoning_effort, `max_output_tokens` → max_tokens, `temperature`, `top_p`, `user` /
-- `safety_identifier` → user, `metadata` (echoed on the response object, as OpenAI stores it),
-- `stream` (the provider is asked for usage), `store` (true or absent: the conversation is kept in
-- the gateway's shared store, gw.store) and `previous_response_id` (a kept conversation goes
-- before this input; an unknown id is 400 previous_response_not_found), `reasoning` input items
-- that carry Claude's signed thinking (below), `include` (reasoning.encrypted_content and the
-- values of outputs this path never produces).
-- Reasoning: an answer's reasoning_content (and thinking_blocks, from the Claude translations)
-- becomes a `reasoning` output item before the message and calls — summary_text = the reasoning
-- text, encrypted_content = "sb1:" .. base64url(JSON of the signed thinking blocks) — streamed
-- with OpenAI's reasoning_summary events. A reasoning input item whose encrypted_content has that
-- prefix gives its blocks back to the next assistant message (thinking_blocks), so a Claude
-- tool-use turn keeps its thinking; stored conversations keep the item whole.
-- Refused (400): built-in tools (web_search, file_search, …), file inputs and file_id images,
-- item references and built-in tools' items, server-side state the gateway does not keep
-- (conversation, prompt, background: true), logprobs, truncation "auto", and every field of M.params
-- marked "refused" or not declared there. Dropped, each for the reason written in M.params:
-- `reasoning` input items of other origins (OpenAI's own encrypted reasoning), reasoning.summary,
-- cache and service-tier hints.
local chat = require("openai_chat")
local params = require("params")

local M = { from = "responses", to = "chat/completions" }
local null = gw.json.null
local array = gw.json.array
local json = gw.json

-- Every top-level field of the Responses create request (openai SDK: ResponseCreateParamsBase,
-- plus `stream`): "mapped", "refused", or "dropped: <reason>". A field present with a non-null
-- value that is refused or not listed is a 400 unsupported_parameter naming it.
M.params = {
  model = "mapped",
  input = "mapped",
  instructions = "mapped",
  tools = "mapped",                 -- function tools; built-in tools are refused by type
  tool_choice = "mapped",
  parallel_tool_calls = "mapped",
  text = "mapped",                  -- format; verbosity is dropped (below)
  reasoning = "mapped",             -- effort; summary is dropped (below)
  max_output_tokens = "mapped",
  temperature = "mapped",
  top_p = "mapped",
  metadata = "mapped",              -- kept on the response object, as OpenAI stores it
  user = "mapped",
  safety_identifier = "mapped",     -- sent as the chat request's user
  stream = "mapped",
  stream_options = "dropped: include_obfuscation pads events against a network side channel; translated events are not padded",
  store = "mapped",                 -- true or absent (OpenAI's default): kept in gw.store for previous_response_id
  background = "mapped",            -- false or absent only: true is refused
  include = "mapped",               -- checked value by value (below)
  truncation = "mapped",            -- "disabled" (the default) only: "auto" is refused
  max_tool_calls = "dropped: it limits built-in tool calls, and this path refuses built-in tools",
  prompt_cache_key = "dropped: a cache-routing hint of OpenAI's; the answer does not depend on it",
  prompt_cache_retention = "dropped: a cache-retention hint of OpenAI's; the answer does not depend on it",
  prompt_cache_options = "dropped: cache hints of OpenAI's; the answer does not depend on them",
  service_tier = "dropped: OpenAI's processing tier; the provider serves its own",
  previous_response_id = "mapped",  -- the stored conversation (gw.store) goes before this input
  conversation = "refused",
  prompt = "refused",                -- stored prompt templates live at OpenAI
  background_options = "refused",
  top_logprobs = "refused",
  context_management = "refused",
  access_programs = "refused",
  image = "refused",
  moderation = "refused",
}

-- Why a refused field is refused, for the client's message.
local REFUSED_WHY = {
  conversation = "the gateway keeps no conversations for translated providers; send the whole conversation in input",
  prompt = "stored prompts live at OpenAI; send the prompt's text in instructions and input",
  background_options = "background responses need a response store",
  top_logprobs = "log probabilities are not returned through this translation",
}

-- include values: what each asks for, and whether this path can honour it.
local INCLUDE = {
  ["reasoning.encrypted_content"] = true,            -- reasoning items carry it whenever there are signed blocks
  ["message.input_image.image_url"] = true,          -- the input's image URLs are not echoed: nothing to include
  ["file_search_call.results"] = true,               -- built-in tools are refused, so their outputs never occur
  ["web_search_call.results"] = true,
  ["web_search_call.action.sources"] = true,
  ["code_interpreter_call.outputs"] = true,
  ["computer_call_output.output.image_url"] = true,
}

local BUILTIN_INPUT_ITEMS = {
  file_search_call = true, computer_call = true, computer_call_output = true, web_search_call = true,
  image_generation_call = true, code_interpreter_call = true, local_shell_call = true,
  local_shell_call_output = true, shell_call = true, shell_call_output = true, apply_patch_call = true,
  apply_patch_call_output = true, mcp_list_tools = true, mcp_approval_request = true,
  mcp_approval_response = true, mcp_call = true, custom_tool_call = true, custom_tool_call_output = true,
  compaction = true, tool_search_call = true, tool_search_output = true,
}

local function refuse(message, param)
  error({ status = 400, type = "invalid_request_error", code = "unsupported_parameter", message = message,
          param = param }, 0)
end

local function wrong(param, expected, value)
  error({ status = 400, type = "invalid_request_error", code = "invalid_type", param = param,
          message = "Invalid type for '" .. param .. "': expected " .. expected .. ", but got " ..
            (value == null and "null" or math.type(value) or type(value)) .. " instead." }, 0)
end

local function present(value) return value ~= nil and value ~= null end

local function opt(body, key, kind, expected)
  local value = body[key]
  if present(value) and type(value) ~= kind then wrong(key, expected, value) end
  if kind == "number" and value ~= nil and (value ~= value or value == math.huge or value == -math.huge) then
    error({ status = 400, type = "invalid_request_error", code = "invalid_value", param = key,
            message = "Invalid value for '" .. key .. "': the number is out of range (it must be finite)." }, 0)
  end
  if present(value) then return value end
  return nil
end

-- MARK: reasoning items

-- A reasoning item's encrypted_content, when the gateway made it: the chat answer's thinking_blocks
-- (Claude's signed `thinking` and `redacted_thinking` blocks, verbatim) as JSON in base64url after
-- this prefix. Opaque to clients, like OpenAI's own; the prefix tells it from OpenAI's.
local SEALED = "sb1:"

local function seal(blocks)
  return SEALED .. gw.base64.url_encode(json.encode(blocks))
end

-- The thinking blocks in an input reasoning item's encrypted_content; nil when it is not ours.
local function unseal(content, param)
  if type(content) ~= "string" or content:sub(1, #SEALED) ~= SEALED then return nil end
  local raw = gw.base64.decode(content:sub(#SEALED + 1))
  local ok, blocks = false, nil
  if raw then ok, blocks = pcall(json.decode, raw) end
  local valid = ok and type(blocks) == "table" and (blocks[1] ~= nil or json.is_array(blocks))
  for _, block in ipairs(valid and blocks or {}) do
    if type(block) ~= "table" or (block.type ~= "thinking" and block.type ~= "redacted_thinking") then valid = false end
  end
  if not valid then
    error({ status = 400, type = "invalid_request_error", code = "invalid_encrypted_content", param = param,
            message = "'" .. param .. "' starts with '" .. SEALED .. "' but is not reasoning this gateway produced " ..
              "(send the item back exactly as it came)" }, 0)
  end
  return blocks
end

-- The reasoning output item: the reasoning text as its summary, the signed blocks (if any) sealed
-- in encrypted_content. OpenAI returns encrypted_content by default (openai SDK 3.57:
-- ResponseReasoningItem), so it is there whether or not `include` asked for it.
local function reasoning_item(id, summary, blocks)
  return { type = "reasoning", id = id, summary = summary,
           encrypted_content = (blocks and #blocks > 0) and seal(blocks) or null }
end

-- The reasoning text of a chat message or delta (reasoning_content; `reasoning` as some
-- OpenAI-compatible providers name it); nil when there is none.
local function reasoning_text(m)
  local text = m.reasoning_content
  if type(text) ~= "string" then text = m.reasoning end
  if type(text) == "string" and text ~= "" then return text end
  return nil
end

local function thinking_blocks_of(m)
  local blocks = m.thinking_blocks
  if type(blocks) == "table" and #blocks > 0 then return blocks end
  return nil
end

-- MARK: request

-- The text of a list of content parts (input_text / output_text only), for system, developer and
-- assistant messages and function outputs; `what` names them in the refusal of another part.
local function text_of_parts(content, param, what)
  if type(content) == "string" then return content end
  if type(content) ~= "table" then wrong(param, "a string or an array", content) end
  local pieces = {}
  for j, part in ipairs(content) do
    local where = param .. "[" .. (j - 1) .. "]"
    if type(part) ~= "table" then wrong(where, "an object", part) end
    if (part.type == "input_text" or part.type == "output_text") and type(part.text) == "string" then
      pieces[#pieces + 1] = part.text
    else
      refuse("'" .. where .. "': " .. what .. " takes text parts only, not '" .. tostring(part.type) .. "'", where)
    end
  end
  return table.concat(pieces)
end

local function user_content(content, param)
  if type(content) == "string" then return content end
  if type(content) ~= "table" then wrong(param, "a string or an array", content) end
  local parts = array()
  for j, part in ipairs(content) do
    local where = param .. "[" .. (j - 1) .. "]"
    if type(part) ~= "table" then wrong(where, "an object", part) end
    if part.type == "input_text" or part.type == "output_text" then
      if type(part.text) ~= "string" then wrong(where .. ".text", "a string", part.text) end
      parts[#parts + 1] = { type = "text", text = part.text }
    elseif part.type == "input_image" then
      if present(part.file_id) or type(part.image_url) ~= "string" then
        refuse("'" .. where .. "': images are accepted by image_url (a URL or a data URL); file_id refers to a file stored at OpenAI", where)
      end
      local image = { url = part.image_url }
      if type(part.detail) == "string" then image.detail = part.detail end
      parts[#parts + 1] = { type = "image_url", image_url = image }
    else
      refuse("'" .. where .. "': content parts of type '" .. tostring(part.type) ..
        "' are not supported for this provider (input_text and input_image are)", where)
    end
  end
  return parts
end

-- Appends the chat messages for the Responses input items to `out`. Consecutive function_call
-- items become one assistant message with several tool calls (after the assistant's text, if
-- that message just came). The thinking blocks of our reasoning items go on the assistant message
-- the items after them build (thinking_blocks, which the Claude translations send back first).
local function convert_input(input, out)
  local pending  -- the assistant message the next function_call joins
  local thinking  -- blocks from reasoning items, for the next assistant message
  local function give_thinking(message)
    if not thinking then return end
    local blocks = type(message.thinking_blocks) == "table" and message.thinking_blocks or array()
    for _, block in ipairs(thinking) do blocks[#blocks + 1] = block end
    message.thinking_blocks = blocks
    thinking = nil
  end
  for index, item in ipairs(input) do
    local param = "input[" .. (index - 1) .. "]"
    if type(item) ~= "table" then wrong(param, "an object", item) end
    local kind = item.type
    if kind == nil or kind == null then kind = "message" end
    if kind == "message" then
      local role = item.role
      if role == "user" then
        out[#out + 1] = { role = "user", content = user_content(item.content, param .. ".content") }
        pending, thinking = nil, nil
      elseif role == "system" or role == "developer" then
        out[#out + 1] = { role = "system", content = text_of_parts(item.content, param .. ".content", "a system or developer message") }
        pending, thinking = nil, nil
      elseif role == "assistant" then
        local message = { role = "assistant", content = text_of_parts(item.content, param .. ".content", "an assistant message") }
        give_thinking(message)
        out[#out + 1] = message
        pending = message
      else
        refuse("'" .. param .. ".role' must be user, assistant, system or developer", param .. ".role")
      end
    elseif kind == "function_call" then
      if type(item.call_id) ~= "string" then wrong(param .. ".call_id", "a string", item.call_id) end
      if type(item.name) ~= "string" then wrong(param .. ".name", "a string", item.name) end
      if type(item.arguments) ~= "string" then wrong(param .. ".arguments", "a string", item.arguments) end
      if not pending then
        pending = { role = "assistant", content = null }
        out[#out + 1] = pending
      end
      give_thinking(pending)
      pending.tool_calls = pending.tool_calls or array()
      pending.tool_calls[#pending.tool_calls + 1] = { id = item.call_id, type = "function",
        ["function"] = { name = item.name, arguments = item.arguments } }
    elseif kind == "function_call_output" then
      if type(item.call_id) ~= "string" then wrong(param .. ".call_id", "a string", item.call_id) end
      local output = item.output
      if type(output) == "table" then
        output = text_of_parts(output, param .. ".output", "a function output")  -- input_text parts
      elseif type(output) ~= "string" then
        wrong(param .. ".output", "a string", output)
      end
      out[#out + 1] = { role = "tool", tool_call_id = item.call_id, content = output }
      pending, thinking = nil, nil
    elseif kind == "reasoning" then
      -- Ours (encrypted_content "sb1:…"): Claude's signed thinking, for the next assistant message.
      -- Any other is dropped: it carries a model's own reasoning (OpenAI's encrypted content, or a
      -- summary) from an earlier turn, which only that model can use; a chat request has no place
      -- for it, and the visible conversation (messages, calls, outputs) is kept whole. Thinking
      -- followed by no assistant item (a user message or a tool output comes next) is left out:
      -- Claude reads thinking only inside an assistant turn.
      local blocks = unseal(item.encrypted_content, param .. ".encrypted_content")
      if blocks then
        thinking = thinking or array()
        for _, block in ipairs(blocks) do thinking[#thinking + 1] = block end
      end
    elseif kind == "item_reference" then
      refuse("'" .. param .. "': item references point at stored items; the gateway keeps none for this provider", param)
    elseif BUILTIN_INPUT_ITEMS[kind] then
      refuse("'" .. param .. "': items of type '" .. kind .. "' belong to OpenAI's built-in tools, which this provider does not have", param)
    else
      refuse("'" .. param .. "': unknown input item type '" .. tostring(kind) .. "'", param)
    end
  end
end

local function convert_tools(tools, out)
  if type(tools) ~= "table" then wrong("tools", "an array", tools) end
  if #tools == 0 then return end
  out.tools = array()
  for i, tool in ipairs(tools) do
    local param = "tools[" .. (i - 1) .. "]"
    if type(tool) ~= "table" then wrong(param, "an object", tool) end
    if tool.type ~= "function" then
      refuse("tool type '" .. tostring(tool.type) .. "' (" .. param .. ") is not available for this provider: OpenAI's built-in and custom tools run at OpenAI; only function tools are translated", param)
    end
    if type(tool.name) ~= "string" then wrong(param .. ".name", "a string", tool.name) end
    local fn = { name = tool.name }
    if present(tool.description) then fn.description = tool.description end
    if present(tool.parameters) then fn.parameters = tool.parameters end
    if present(tool.strict) then fn.strict = tool.strict end
    out.tools[#out.tools + 1] = { type = "function", ["function"] = fn }
  end
end

local function convert_tool_choice(choice)
  if choice == "auto" or choice == "none" or choice == "required" then return choice end
  if type(choice) == "table" and choice.type == "function" and type(choice.name) == "string" then
    return { type = "function", ["function"] = { name = choice.name } }
  end
  if type(choice) == "table" and choice.type == "allowed_tools" then
    refuse("tool_choice 'allowed_tools' is not supported for this provider; list only the allowed tools in tools", "tool_choice")
  end
  refuse("tool_choice must be auto, none, required or {type: function, name}; built-in tool choices are not available for this provider", "tool_choice")
end

local function convert_text(text, out)
  if type(text) ~= "table" then wrong("text", "an object", text) end
  -- text.verbosity is dropped: a length hint of OpenAI's newer models with no counterpart here.
  local format = text.format
  if not present(format) then return end
  if type(format) ~= "table" then wrong("text.format", "an object", format) end
  if format.type == "text" then
    out.response_format = { type = "text" }
  elseif format.type == "json_object" then
    out.response_format = { type = "json_object" }
  elseif format.type == "json_schema" then
    if type(format.schema) ~= "table" then wrong("text.format.schema", "an object", format.schema) end
    local schema = { name = format.name or "response", schema = format.schema }
    if present(format.description) then schema.description = format.description end
    if present(format.strict) then schema.strict = format.strict end
    out.response_format = { type = "json_schema", json_schema = schema }
  else
    refuse("text.format type '" .. tostring(format.type) .. "' is not supported (text, json_object and json_schema are)", "text.format")
  end
end

-- MARK: stored responses (previous_response_id)

-- Responses are kept in the gateway's shared store (gw.store: bounded by store_max_bytes, least
-- recently used first, each for at most a day) as the JSON array of the conversation's items.
local STORE_PREFIX = "responses/"
local STORE_TTL = 30 * 24 * 3600  -- OpenAI's retention; the store caps it (24 h by default)

local function stored_items(id)
  local text = gw.store.get(STORE_PREFIX .. id)
  if text == nil then
    error({ status = 400, type = "invalid_request_error", code = "previous_response_not_found",
            param = "previous_response_id",
            message = "Previous response with id '" .. id .. "' not found. The gateway keeps responses of " ..
              "translated providers in memory, for at most a day and within store_max_bytes; send the whole " ..
              "conversation in input instead." }, 0)
  end
  local items = json.decode(text)
  local out = array()
  for i, item in ipairs(items) do out[i] = item end
  return out
end

-- Stores the conversation up to and including `output` under the response's id.
local function remember(ctx, id, output)
  local items = ctx.responses_items
  if not items then return end
  local all = array()
  for i, item in ipairs(items) do all[i] = item end
  for _, item in ipairs(output) do all[#all + 1] = item end
  local ok, why = gw.store.put(STORE_PREFIX .. id, json.encode(all), STORE_TTL)
  if not ok then gw.log("warn", "response " .. id .. " not stored: " .. tostring(why)) end
end

function M.request(ctx, body)
  if type(body) ~= "table" then refuse("the request body must be a JSON object") end
  params.check(M, body, "a chat/completions provider", REFUSED_WHY)
  local store = opt(body, "store", "boolean", "a boolean")
  local previous = opt(body, "previous_response_id", "string", "a string")
  if body.background == true then
    refuse("background: true is not supported for this provider: background responses need a response store", "background")
  end
  if present(body.truncation) and body.truncation ~= "disabled" then
    refuse("truncation '" .. tostring(body.truncation) .. "' is not supported for this provider; the conversation is sent whole", "truncation")
  end
  local include = opt(body, "include", "table", "an array")
  for i, value in ipairs(include or {}) do
    if not INCLUDE[value] then
      refuse("include value '" .. tostring(value) .. "' is not supported for this provider", "include[" .. (i - 1) .. "]")
    end
  end
  local model = opt(body, "model", "string", "a string")
  local out = { model = model, messages = array() }
  local instructions = opt(body, "instructions", "string", "a string")
  if instructions then out.messages[1] = { role = "system", content = instructions } end
  -- The conversation: a stored response's items (its input and output), then this input. The
  -- earlier request's instructions are not carried over, as at OpenAI.
  local items = previous and stored_items(previous) or array()
  local input = body.input
  if type(input) == "string" then
    items[#items + 1] = { type = "message", role = "user", content = input }
  elseif type(input) == "table" then
    for _, item in ipairs(input) do items[#items + 1] = item end
  elseif present(input) then
    wrong("input", "a string or an array", input)
  end
  convert_input(items, out.messages)
  if #out.messages == 0 then refuse("input must not be empty", "input") end
  if present(body.tools) then convert_tools(body.tools, out) end
  if present(body.tool_choice) then out.tool_choice = convert_tool_choice(body.tool_choice) end
  local parallel = opt(body, "parallel_tool_calls", "boolean", "a boolean")
  if parallel ~= nil and out.tools then out.parallel_tool_calls = parallel end
  if present(body.text) then convert_text(body.text, out) end
  local reasoning = opt(body, "reasoning", "table", "an object")
  if reasoning and present(reasoning.effort) then
    if type(reasoning.effort) ~= "string" then wrong("reasoning.effort", "a string", reasoning.effort) end
    out.reasoning_effort = reasoning.effort
  end
  -- reasoning.summary is dropped: summaries are best effort at OpenAI too, and no reasoning
  -- items are produced here.
  local max_tokens = body.max_output_tokens
  if present(max_tokens) then
    if math.type(max_tokens) ~= "integer" then wrong("max_output_tokens", "an integer", max_tokens) end
    if max_tokens < 1 then refuse("max_output_tokens must be at least 1", "max_output_tokens") end
    out.max_tokens = max_tokens
  end
  local temperature = opt(body, "temperature", "number", "a number")
  if temperature then out.temperature = temperature end
  local top_p = opt(body, "top_p", "number", "a number")
  if top_p then out.top_p = top_p end
  local user = opt(body, "user", "string", "a string") or opt(body, "safety_identifier", "string", "a string")
  if user then out.user = user end
  local metadata = opt(body, "metadata", "table", "an object")
  local stream = opt(body, "stream", "boolean", "a boolean")
  if stream then
    out.stream = true
    out.stream_options = { include_usage = true }  -- response.completed carries usage
  end
  -- What the answer echoes back (the response object repeats the request's settings).
  ctx.responses_request = {
    model = model, instructions = instructions or null, metadata = metadata or {},
    max_output_tokens = present(max_tokens) and max_tokens or null,
    temperature = temperature or null, top_p = top_p or null,
    parallel_tool_calls = parallel ~= false, tool_choice = present(body.tool_choice) and body.tool_choice or "auto",
    tools = type(body.tools) == "table" and body.tools or array(),
    text = type(body.text) == "table" and body.text or { format = { type = "text" } },
    reasoning = reasoning and { effort = reasoning.effort or null, summary = null } or { effort = null, summary = null },
    user = user or null, store = store ~= false, previous_response_id = previous or null,
  }
  -- Kept for the answer, which stores them with its output unless the client said store: false.
  if store ~= false then ctx.responses_items = items end
  return out
end

-- MARK: answer

local function new_id(prefix)
  return prefix .. (gw.uuid():gsub("-", ""))
end

local function responses_usage(u)
  if type(u) ~= "table" then u = {} end
  local input, output = u.prompt_tokens or 0, u.completion_tokens or 0
  local cached = type(u.prompt_tokens_details) == "table" and u.prompt_tokens_details.cached_tokens or 0
  local reasoning = type(u.completion_tokens_details) == "table" and u.completion_tokens_details.reasoning_tokens or 0
  return { input_tokens = input, input_tokens_details = { cached_tokens = cached or 0 },
           output_tokens = output, output_tokens_details = { reasoning_tokens = reasoning or 0 },
           total_tokens = u.total_tokens or (input + output) }
end

-- The response object, with the request's settings echoed as OpenAI echoes them.
local function response_object(ctx, id, created, status, output, usage, model)
  local r = ctx.responses_request or {}
  return {
    id = id, object = "response", created_at = created, status = status,
    error = null, incomplete_details = null, background = false,
    instructions = r.instructions or null, max_output_tokens = r.max_output_tokens or null,
    model = model or r.model or null, output = output or array(),
    parallel_tool_calls = r.parallel_tool_calls ~= false, previous_response_id = r.previous_response_id or null,
    reasoning = r.reasoning or { effort = null, summary = null }, store = r.store == true,
    temperature = r.temperature or null, text = r.text or { format = { type = "text" } },
    tool_choice = r.tool_choice or "auto", tools = r.tools or array(), top_p = r.top_p or null,
    truncation = "disabled", usage = usage or null, user = r.user or null, metadata = r.metadata or {},
  }
end

-- A finish reason that makes the response incomplete, and why.
local INCOMPLETE = { length = "max_output_tokens", content_filter = "content_filter" }

function M.response(ctx, provider, res)
  local completion = chat.provider_completion(ctx, provider, res)
  local choice = completion.choices[1]
  local message = type(choice.message) == "table" and choice.message or {}
  local output = array()
  -- The reasoning first, as OpenAI orders a reasoning model's output.
  local thought, blocks = reasoning_text(message), thinking_blocks_of(message)
  if thought or blocks then
    output[1] = reasoning_item(new_id("rs_"), thought and array({ { type = "summary_text", text = thought } }) or array(), blocks)
  end
  local content = array()
  if type(message.content) == "string" and message.content ~= "" then
    content[#content + 1] = { type = "output_text", text = message.content, annotations = array(), logprobs = array() }
  end
  if type(message.refusal) == "string" and message.refusal ~= "" then
    content[#content + 1] = { type = "refusal", refusal = message.refusal }
  end
  if #content > 0 then
    output[#output + 1] = { type = "message", id = new_id("msg_"), status = "completed", role = "assistant", content = content }
  end
  for _, call in ipairs(type(message.tool_calls) == "table" and message.tool_calls or {}) do
    local fn = type(call["function"]) == "table" and call["function"] or {}
    output[#output + 1] = { type = "function_call", id = new_id("fc_"), call_id = call.id or new_id("call_"),
                            name = fn.name, arguments = type(fn.arguments) == "string" and fn.arguments or "{}",
                            status = "completed" }
  end
  local reason = INCOMPLETE[choice.finish_reason]
  local body = response_object(ctx, new_id("resp_"), completion.created or math.floor(gw.time()),
    reason and "incomplete" or "completed", output, responses_usage(completion.usage), completion.model)
  if reason then body.incomplete_details = { reason = reason } end
  remember(ctx, body.id, output)
  return { body = body }
end

-- MARK: stream

-- Chat chunks → Responses events. One output item open at a time: the message (text), or one
-- function call; a new kind closes the open one, as OpenAI streams them.
local function convert(ctx, s, item, emit)
  local function snapshot(status, usage)
    local output = array()
    for i, done in ipairs(s.done_items) do output[i] = done end
    return response_object(ctx, s.id, s.created, status, output, usage, s.model)
  end
  local function close_item()
    local open = s.open
    if not open then return end
    s.open = nil
    local item_
    if open.kind == "text" then
      local text = table.concat(open.text)
      local part = { type = "output_text", text = text, annotations = array(), logprobs = array() }
      emit("response.output_text.done", { item_id = open.id, output_index = open.index, content_index = 0,
                                          text = text, logprobs = array() })
      emit("response.content_part.done", { item_id = open.id, output_index = open.index, content_index = 0, part = part })
      item_ = { type = "message", id = open.id, status = "completed", role = "assistant", content = array({ part }) }
    elseif open.kind == "reasoning" then
      local summary = array()
      if open.part then
        local text = table.concat(open.text)
        local part = { type = "summary_text", text = text }
        emit("response.reasoning_summary_text.done", { item_id = open.id, output_index = open.index, summary_index = 0,
                                                       text = text })
        emit("response.reasoning_summary_part.done", { item_id = open.id, output_index = open.index, summary_index = 0,
                                                       part = part })
        summary[1] = part
      end
      item_ = reasoning_item(open.id, summary, open.blocks)
    else
      local arguments = table.concat(open.arguments)
      emit("response.function_call_arguments.done", { item_id = open.id, output_index = open.index,
                                                       name = open.name, arguments = arguments })
      item_ = { type = "function_call", id = open.id, call_id = open.call_id, name = open.name,
                arguments = arguments, status = "completed" }
    end
    emit("response.output_item.done", { output_index = open.index, item = item_ })
    s.done_items[#s.done_items + 1] = item_
  end
  local function finish()
    close_item()
    s.finished = true
    local usage = responses_usage(s.usage)
    local reason = INCOMPLETE[s.finish_reason]
    remember(ctx, s.id, s.done_items)
    if reason then
      local response = snapshot("incomplete", usage)
      response.incomplete_details = { reason = reason }
      emit("response.incomplete", { response = response })
    else
      emit("response.completed", { response = snapshot("completed", usage) })
    end
  end
  local function fail(message, code)
    close_item()
    s.failed = true
    local response = snapshot("failed", s.usage and responses_usage(s.usage) or null)
    response.error = { code = "server_error", message = message }
    emit("response.failed", { response = response })
    -- The openai SDKs raise on an event whose data has an `error` object; response.failed alone
    -- is yielded as an event, so the error event follows it.
    emit("error", { code = code or "upstream_error", message = message, param = null,
                    error = { type = "upstream_error", code = code or "upstream_error", message = message, param = null } })
  end
  local function start(id, model)
    if s.started then return end
    s.started = true
    s.id = new_id("resp_")
    s.created = math.floor(gw.time())
    s.model = model or (ctx.responses_request and ctx.responses_request.model)
    emit("response.created", { response = snapshot("in_progress", null) })
    emit("response.in_progress", { response = snapshot("in_progress", null) })
  end

  if item == "[DONE]" then
    start()
    if not s.finish_reason then return fail("the provider's stream ended without a finish reason", "stream_truncated") end
    return finish()
  end
  if type(item) ~= "table" then return end
  if type(item.error) == "table" then
    start()
    return fail(tostring(item.error.message or "upstream stream error"), item.error.code ~= null and item.error.code or nil)
  end
  start(item.id, item.model)
  if type(item.usage) == "table" then s.usage = item.usage end
  local choice = type(item.choices) == "table" and item.choices[1] or nil
  if type(choice) ~= "table" then return end
  local delta = type(choice.delta) == "table" and choice.delta or {}
  -- Reasoning (text as it comes, signed blocks when each ends) is one reasoning item, before the
  -- message and calls; its summary text streams as reasoning_summary_text deltas.
  local thought, blocks = reasoning_text(delta), thinking_blocks_of(delta)
  if thought or blocks then
    if not s.open or s.open.kind ~= "reasoning" then
      close_item()
      local open = { kind = "reasoning", id = new_id("rs_"), index = s.next_index, text = {}, blocks = array() }
      s.open, s.next_index = open, s.next_index + 1
      emit("response.output_item.added", { output_index = open.index, item = {
        type = "reasoning", id = open.id, summary = array(), encrypted_content = null } })
    end
    local open = s.open
    if thought then
      if not open.part then
        open.part = true
        emit("response.reasoning_summary_part.added", { item_id = open.id, output_index = open.index, summary_index = 0,
                                                        part = { type = "summary_text", text = "" } })
      elseif open.block_ended then
        thought = "\n\n" .. thought  -- the next block's text, joined as the non-streamed answer joins them
      end
      open.block_ended = false
      open.text[#open.text + 1] = thought
      emit("response.reasoning_summary_text.delta", { item_id = open.id, output_index = open.index, summary_index = 0,
                                                      delta = thought })
    end
    for _, block in ipairs(blocks or {}) do
      open.blocks[#open.blocks + 1] = block
      open.block_ended = true
    end
  end
  local text = delta.content
  if type(text) == "string" and text ~= "" then
    if not s.open or s.open.kind ~= "text" then
      close_item()
      local open = { kind = "text", id = new_id("msg_"), index = s.next_index, text = {} }
      s.open, s.next_index = open, s.next_index + 1
      emit("response.output_item.added", { output_index = open.index, item = {
        type = "message", id = open.id, status = "in_progress", role = "assistant", content = array() } })
      emit("response.content_part.added", { item_id = open.id, output_index = open.index, content_index = 0,
        part = { type = "output_text", text = "", annotations = array(), logprobs = array() } })
    end
    local open = s.open
    open.text[#open.text + 1] = text
    emit("response.output_text.delta", { item_id = open.id, output_index = open.index, content_index = 0,
                                         delta = text, logprobs = array() })
  end
  for _, call in ipairs(type(delta.tool_calls) == "table" and delta.tool_calls or {}) do
    local key = call.index or 0
    local fn = type(call["function"]) == "table" and call["function"] or {}
    if not s.open or s.open.kind ~= "call" or s.open.key ~= key then
      close_item()
      local open = { kind = "call", key = key, id = new_id("fc_"), index = s.next_index,
                     call_id = type(call.id) == "string" and call.id or new_id("call_"),
                     name = type(fn.name) == "string" and fn.name or "", arguments = {} }
      s.open, s.next_index = open, s.next_index + 1
      emit("response.output_item.added", { output_index = open.index, item = {
        type = "function_call", id = open.id, call_id = open.call_id, name = open.name, arguments = "",
        status = "in_progress" } })
    end
    local open = s.open
    if type(fn.arguments) == "string" and fn.arguments ~= "" then
      open.arguments[#open.arguments + 1] = fn.arguments
      emit("response.function_call_arguments.delta", { item_id = open.id, output_index = open.index, delta = fn.arguments })
    end
  end
  if choice.finish_reason ~= nil and choice.finish_reason ~= null then
    s.finish_reason = choice.finish_reason
    close_item()
  end
end

function M.stream(ctx, provider, event)
  local s = ctx.responses_stream
  if not s then
    s = { next_index = 0, done_items = {}, sequence = 0 }
    ctx.responses_stream = s
  end
  if s.failed or s.finished then return nil end
  local out = {}
  local function emit(name, data)
    data.type = name
    data.sequence_number = s.sequence
    s.sequence = s.sequence + 1
    out[#out + 1] = { event = name, data = data }
  end
  for _, item in ipairs(chat.provider_chunks(ctx, provider, event)) do
    convert(ctx, s, item, emit)
    if s.failed or s.finished then break end
  end
  if event.done and not s.finished and not s.failed then
    -- The chat stream ended without its terminal `data: [DONE]`: the answer may be incomplete,
    -- so the response fails instead of completing.
    convert(ctx, s, { error = { code = "stream_truncated", message = "the provider's stream ended before it finished (no [DONE])" ..
      (event.truncated and " (cut inside an event)" or "") } }, emit)
  end
  return out
end

return M
