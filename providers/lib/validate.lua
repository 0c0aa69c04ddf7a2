-- Type checks of a client's request before a converter reads it. A converter that indexes a field
-- of the wrong type (`"messages":[null]`, `"content":[5]`, `"stop":5`) would fail with a Lua error
-- (a 500 naming the converter's line); these checks refuse it first with a 400 that names the field
-- as a path, the way OpenAI's API does: `param = "messages[1].content[0]"`.
--
--   local validate = require("validate")
--   validate.chat_request(body)        -- an OpenAI chat completions request (translating providers)
--   validate.messages_request(body)    -- an Anthropic Messages request (the /v1/messages dialect)
--   validate.embeddings_request(body)  -- an OpenAI embeddings request
--
-- Only what a converter reads is checked, and only its type (plus: numbers must be finite, since
-- `1e400` decodes to infinity, which no provider accepts and JSON cannot encode). Fields a
-- converter does not read pass as they are; values a converter refuses for other reasons (an
-- unknown role, an unsupported content part) are refused by the converter with its own message.
-- Checks run in one pass with no allocation unless something is wrong: the path string is built
-- only for the error.
local M = {}

local null = gw.json.null
local is_array = gw.json.is_array
local math_type = math.type
local huge = math.huge

-- The JSON type of a value, for messages: "null", "an array", "an object", "a string", ….
local function describe(value)
  if value == nil then return "nothing (the field is missing)" end
  if value == null then return "null" end
  local kind = type(value)
  if kind == "table" then return is_array(value) and "an array" or "an object" end
  if kind == "number" then
    if value ~= value or value == huge or value == -huge then return "a number out of range" end
    return math_type(value) == "integer" and "an integer" or "a number"
  end
  if kind == "boolean" then return "a boolean" end
  if kind == "string" then return "a string" end
  return kind
end
M.describe = describe

-- Refuses the request with 400 naming `param` (a field path such as `messages[0].content`).
function M.refuse(param, message, code)
  error({ status = 400, type = "invalid_request_error", code = code or "invalid_type", param = param,
          message = message }, 0)
end
local refuse = M.refuse

local function wrong(path, expected, value)
  if type(value) == "number" and (value ~= value or value == huge or value == -huge) then
    refuse(path, "Invalid value for '" .. path .. "': the number is out of range (it must be finite).", "invalid_value")
  end
  refuse(path, "Invalid type for '" .. path .. "': expected " .. expected .. ", but got " .. describe(value) .. " instead.")
end
M.wrong = wrong

-- A JSON array (decoded, so it carries the array marker) or a list a script built.
local function is_list(value)
  return type(value) == "table" and (is_array(value) or value[1] ~= nil)
end
local function is_object(value)
  return type(value) == "table" and not is_array(value)
end
local function absent(value) return value == nil or value == null end
local function finite(value)
  return type(value) == "number" and value == value and value ~= huge and value ~= -huge
end

-- Path pieces, joined only for an error: index(path, i) -> "path[i-1]" (0-based like the JSON).
local function at(path, i) return path .. "[" .. (i - 1) .. "]" end
local function dot(path, key) return path .. "." .. key end

-- Field checks on an object `t` whose own path is `path` (nil for the top level). Each one lets an
-- absent field (nil or null) pass.
local function key_path(path, key) return path and dot(path, key) or key end

local function opt_string(t, key, path)
  local value = t[key]
  if value ~= nil and value ~= null and type(value) ~= "string" then wrong(key_path(path, key), "a string", value) end
end
local function opt_boolean(t, key, path)
  local value = t[key]
  if value ~= nil and value ~= null and type(value) ~= "boolean" then wrong(key_path(path, key), "a boolean", value) end
end
local function opt_number(t, key, path)
  local value = t[key]
  if value ~= nil and value ~= null and not finite(value) then wrong(key_path(path, key), "a number", value) end
end
local function opt_integer(t, key, path)
  local value = t[key]
  if value ~= nil and value ~= null and math_type(value) ~= "integer" then wrong(key_path(path, key), "an integer", value) end
end
local function opt_object(t, key, path)
  local value = t[key]
  if value ~= nil and value ~= null and not is_object(value) then wrong(key_path(path, key), "an object", value) end
  return value ~= null and value or nil
end
local function req_string(t, key, path)
  local value = t[key]
  if type(value) ~= "string" then wrong(key_path(path, key), "a string", value) end
end

-- A list of strings (or absent). With `or_string`, one string is accepted as well (OpenAI's stop).
local function opt_string_list(t, key, path, or_string)
  local value = t[key]
  if absent(value) or (or_string and type(value) == "string") then return end
  if not is_list(value) then
    wrong(key_path(path, key), or_string and "a string or an array of strings" or "an array of strings", value)
  end
  for i, item in ipairs(value) do
    if type(item) ~= "string" then wrong(at(key_path(path, key), i), "a string", item) end
  end
end

-- Free-form JSON the converters pass on (schemas, tool inputs): only the numbers are checked, as a
-- non-finite one cannot be encoded again. Depth is bounded by the decoder's own depth limit.
local function finite_tree(value, path_of)
  local kind = type(value)
  if kind == "number" then
    if not finite(value) then wrong(path_of(), "a number", value) end
  elseif kind == "table" then
    for key, item in pairs(value) do
      local item_kind = type(item)
      if item_kind == "table" or (item_kind == "number" and not finite(item)) then
        finite_tree(item, function()
          return type(key) == "number" and path_of() .. "[" .. (key - 1) .. "]" or path_of() .. "." .. tostring(key)
        end)
      end
    end
  end
end
M.finite_tree = finite_tree

local function opt_schema(t, key, path)
  local value = opt_object(t, key, path)
  if value then finite_tree(value, function() return key_path(path, key) end) end
end

-- MARK: OpenAI chat completions

local CHAT_NUMBERS = { "temperature", "top_p", "presence_penalty", "frequency_penalty" }
local CHAT_INTEGERS = { "n", "seed", "max_tokens", "max_completion_tokens", "top_logprobs" }
local CHAT_BOOLEANS = { "stream", "logprobs", "parallel_tool_calls" }
local CHAT_STRINGS = { "model", "user" }

local function check_chat_part(part, path)
  if not is_object(part) then wrong(path, "an object", part) end
  local kind = part.type
  if type(kind) ~= "string" then wrong(dot(path, "type"), "a string", kind) end
  if kind == "text" then
    req_string(part, "text", path)
  elseif kind == "image_url" then
    local image = part.image_url
    if is_object(image) then
      req_string(image, "url", dot(path, "image_url"))
      opt_string(image, "detail", dot(path, "image_url"))
    elseif type(image) ~= "string" then
      wrong(dot(path, "image_url"), "an object", image)
    end
  end
end

local function check_tool_call(call, path)
  if not is_object(call) then wrong(path, "an object", call) end
  opt_string(call, "id", path)
  opt_string(call, "type", path)
  local fn = call["function"]
  if not is_object(fn) then wrong(dot(path, "function"), "an object", fn) end
  req_string(fn, "name", dot(path, "function"))
  opt_string(fn, "arguments", dot(path, "function"))
end

local function check_chat_message(m, path)
  if not is_object(m) then wrong(path, "an object", m) end
  req_string(m, "role", path)
  local content = m.content
  if content ~= nil and content ~= null and type(content) ~= "string" then
    if not is_list(content) then
      wrong(dot(path, "content"), "a string or an array of content parts", content)
    end
    for i, part in ipairs(content) do check_chat_part(part, at(dot(path, "content"), i)) end
  end
  local calls = m.tool_calls
  if calls ~= nil and calls ~= null then
    if not is_list(calls) then wrong(dot(path, "tool_calls"), "an array", calls) end
    for i, call in ipairs(calls) do check_tool_call(call, at(dot(path, "tool_calls"), i)) end
  end
  opt_string(m, "tool_call_id", path)
  opt_string(m, "name", path)
end

local function check_chat_tools(tools)
  if absent(tools) then return end
  if not is_list(tools) then wrong("tools", "an array", tools) end
  for i, tool in ipairs(tools) do
    local path = at("tools", i)
    if not is_object(tool) then wrong(path, "an object", tool) end
    opt_string(tool, "type", path)
    local fn = tool["function"]
    if fn ~= nil then
      if not is_object(fn) then wrong(dot(path, "function"), "an object", fn) end
      local fpath = dot(path, "function")
      req_string(fn, "name", fpath)
      opt_string(fn, "description", fpath)
      opt_boolean(fn, "strict", fpath)
      opt_schema(fn, "parameters", fpath)
    end
  end
end

local function check_tool_choice(choice)
  if absent(choice) or type(choice) == "string" then return end
  if not is_object(choice) then wrong("tool_choice", "a string or an object", choice) end
  opt_string(choice, "type", "tool_choice")
  local fn = opt_object(choice, "function", "tool_choice")
  if fn then req_string(fn, "name", "tool_choice.function") end
end

local function check_response_format(format)
  if absent(format) then return end
  if not is_object(format) then wrong("response_format", "an object", format) end
  req_string(format, "type", "response_format")
  local schema = opt_object(format, "json_schema", "response_format")
  if schema then
    opt_string(schema, "name", "response_format.json_schema")
    opt_schema(schema, "schema", "response_format.json_schema")
  end
end

-- An OpenAI chat completions request, as the translating converters read it.
function M.chat_request(body)
  if not is_object(body) then wrong("body", "an object", body) end
  for _, key in ipairs(CHAT_STRINGS) do opt_string(body, key) end
  for _, key in ipairs(CHAT_NUMBERS) do opt_number(body, key) end
  for _, key in ipairs(CHAT_INTEGERS) do opt_integer(body, key) end
  for _, key in ipairs(CHAT_BOOLEANS) do opt_boolean(body, key) end
  local messages = body.messages
  if not is_list(messages) then wrong("messages", "an array", messages) end
  for i, m in ipairs(messages) do check_chat_message(m, at("messages", i)) end
  opt_string_list(body, "stop", nil, true)
  opt_string_list(body, "modalities")
  local options = opt_object(body, "stream_options")
  if options then opt_boolean(options, "include_usage", "stream_options") end
  check_chat_tools(body.tools)
  check_tool_choice(body.tool_choice)
  check_response_format(body.response_format)
end

-- MARK: OpenAI embeddings

function M.embeddings_request(body)
  if not is_object(body) then wrong("body", "an object", body) end
  opt_string(body, "model")
  opt_string(body, "encoding_format")
  opt_string(body, "input_type")
  opt_string(body, "user")
  opt_integer(body, "dimensions")
end

-- MARK: Anthropic Messages

local function check_block(block, path)
  if not is_object(block) then wrong(path, "an object", block) end
  local kind = block.type
  if type(kind) ~= "string" then wrong(dot(path, "type"), "a string", kind) end
  if kind == "text" then
    req_string(block, "text", path)
  elseif kind == "image" then
    local source = block.source
    if not is_object(source) then wrong(dot(path, "source"), "an object", source) end
    local spath = dot(path, "source")
    opt_string(source, "type", spath)
    opt_string(source, "media_type", spath)
    opt_string(source, "data", spath)
    opt_string(source, "url", spath)
  elseif kind == "tool_use" then
    opt_string(block, "id", path)
    req_string(block, "name", path)
    opt_schema(block, "input", path)
  elseif kind == "tool_result" then
    opt_string(block, "tool_use_id", path)
    opt_boolean(block, "is_error", path)
    local content = block.content
    if content ~= nil and content ~= null and type(content) ~= "string" then
      if not is_list(content) then
        wrong(dot(path, "content"), "a string or an array of content blocks", content)
      end
      for i, inner in ipairs(content) do check_block(inner, at(dot(path, "content"), i)) end
    end
  end
end

local function check_blocks(value, path, what)
  if type(value) == "string" then return end
  if not is_list(value) then wrong(path, "a string or an array of " .. what, value) end
  for i, block in ipairs(value) do check_block(block, at(path, i)) end
end

-- An Anthropic Messages request, as the dialect converter reads it.
function M.messages_request(body)
  if not is_object(body) then wrong("body", "an object", body) end
  opt_string(body, "model")
  opt_integer(body, "max_tokens")
  opt_number(body, "temperature")
  opt_number(body, "top_p")
  opt_integer(body, "top_k")
  opt_boolean(body, "stream")
  opt_string_list(body, "stop_sequences")
  local messages = body.messages
  if not is_list(messages) then wrong("messages", "an array", messages) end
  for i, m in ipairs(messages) do
    local path = at("messages", i)
    if not is_object(m) then wrong(path, "an object", m) end
    req_string(m, "role", path)
    check_blocks(m.content, dot(path, "content"), "content blocks")
  end
  if not absent(body.system) then check_blocks(body.system, "system", "text blocks") end
  local tools = body.tools
  if not absent(tools) then
    if not is_list(tools) then wrong("tools", "an array", tools) end
    for i, tool in ipairs(tools) do
      local path = at("tools", i)
      if not is_object(tool) then wrong(path, "an object", tool) end
      opt_string(tool, "type", path)
      req_string(tool, "name", path)
      opt_string(tool, "description", path)
      opt_schema(tool, "input_schema", path)
    end
  end
  local choice = opt_object(body, "tool_choice")
  if choice then
    req_string(choice, "type", "tool_choice")
    opt_string(choice, "name", "tool_choice")
    opt_boolean(choice, "disable_parallel_tool_use", "tool_choice")
  end
  local metadata = opt_object(body, "metadata")
  if metadata then opt_string(metadata, "user_id", "metadata") end
end

return M
