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

-- Paths are built only for an error. A parent path is a format with the 0-based indexes as the
-- extra arguments ("messages[%d].content[%d]", 1, 0); `key` is appended after a dot.
local format = string.format
local function path_of(key, parent, ...)
  local base = parent and format(parent, ...) or nil
  if key == nil then return base end
  return base and (base .. "." .. key) or key
end

-- Field checks on the object `t` at `parent`. Each lets an absent field (nil or null) pass.
local function opt_string(t, key, parent, ...)
  local value = t[key]
  if value ~= nil and value ~= null and type(value) ~= "string" then wrong(path_of(key, parent, ...), "a string", value) end
end
local function opt_boolean(t, key, parent, ...)
  local value = t[key]
  if value ~= nil and value ~= null and type(value) ~= "boolean" then wrong(path_of(key, parent, ...), "a boolean", value) end
end
local function opt_number(t, key, parent, ...)
  local value = t[key]
  if value ~= nil and value ~= null and not finite(value) then wrong(path_of(key, parent, ...), "a number", value) end
end
local function opt_integer(t, key, parent, ...)
  local value = t[key]
  if value ~= nil and value ~= null and math_type(value) ~= "integer" then
    wrong(path_of(key, parent, ...), "an integer", value)
  end
end
local function opt_object(t, key, parent, ...)
  local value = t[key]
  if value ~= nil and value ~= null and not is_object(value) then wrong(path_of(key, parent, ...), "an object", value) end
  if value == null then return nil end
  return value
end
local function req_string(t, key, parent, ...)
  local value = t[key]
  if type(value) ~= "string" then wrong(path_of(key, parent, ...), "a string", value) end
end
-- The value itself must be an object.
local function need_object(value, parent, ...)
  if not is_object(value) then wrong(path_of(nil, parent, ...), "an object", value) end
end

-- A list of strings (or absent). With `or_string`, one string is accepted as well (OpenAI's stop).
local function opt_string_list(t, key, or_string)
  local value = t[key]
  if absent(value) or (or_string and type(value) == "string") then return end
  if not is_list(value) then
    wrong(key, or_string and "a string or an array of strings" or "an array of strings", value)
  end
  for i, item in ipairs(value) do
    if type(item) ~= "string" then wrong(format("%s[%d]", key, i - 1), "a string", item) end
  end
end

-- Free-form JSON the converters pass on (schemas, tool inputs): only its numbers are checked, as a
-- non-finite one cannot be encoded again. The walk passes nothing but the depth: the keys on the
-- way down go into one reused table and the root's path pieces into upvalues, so it allocates
-- nothing; depth is bounded by the decoder's own depth limit.
local keys = {}
local root_key, root_parent, root_a, root_b, root_c
local function finite_walk(value, depth)
  for k, item in next, value do
    local kind = type(item)
    if kind == "table" then
      keys[depth + 1] = k
      finite_walk(item, depth + 1)
    elseif kind == "number" and (item ~= item or item == huge or item == -huge) then
      keys[depth + 1] = k
      local parts = { path_of(root_key, root_parent, root_a, root_b, root_c) or "" }
      for d = 1, depth + 1 do
        local name = keys[d]
        parts[#parts + 1] = math_type(name) == "integer" and format("[%d]", name - 1) or ("." .. tostring(name))
      end
      local path = table.concat(parts)
      if path:sub(1, 1) == "." then path = path:sub(2) end
      wrong(path, "a number", item)
    end
  end
end

-- An optional object of free-form JSON at `t[key]`.
local function opt_tree(t, key, parent, a, b, c)
  local value = opt_object(t, key, parent, a, b, c)
  if value then
    root_key, root_parent, root_a, root_b, root_c = key, parent, a, b, c
    finite_walk(value, 0)
  end
end

-- Encodes a translated request. A number that is not finite (the client wrote `1e400`, deep in a
-- tool schema or a JSON schema: free-form JSON a converter passes on) cannot be encoded; only then
-- is the client's `body` walked to name it, so the common case costs nothing beyond the encoding
-- the gateway does anyway.
function M.encode(out, body)
  local ok, text = pcall(gw.json.encode, out)
  if ok then return text end
  if type(body) == "table" then
    root_key, root_parent = nil, nil
    finite_walk(body, 0)
  end
  error(text, 0)
end

-- MARK: OpenAI chat completions

-- The scalar fields: name → {test, what the error says is expected}. null is always accepted.
local function is_string(value) return type(value) == "string" end
local function is_integer(value) return math_type(value) == "integer" end
local function is_boolean(value) return type(value) == "boolean" end
local CHAT_SCALARS = {}
for _, spec in ipairs({
  { finite, "a number", { "temperature", "top_p", "presence_penalty", "frequency_penalty" } },
  { is_integer, "an integer", { "n", "seed", "max_tokens", "max_completion_tokens", "top_logprobs" } },
  { is_boolean, "a boolean", { "stream", "logprobs", "parallel_tool_calls" } },
  { is_string, "a string", { "model", "user" } },
}) do
  for _, key in ipairs(spec[3]) do CHAT_SCALARS[#CHAT_SCALARS + 1] = { key, spec[1], spec[2] } end
end

local function check_chat_part(part, i, j)
  need_object(part, "messages[%d].content[%d]", i, j)
  local kind = part.type
  if type(kind) ~= "string" then wrong(format("messages[%d].content[%d].type", i, j), "a string", kind) end
  if kind == "text" then
    req_string(part, "text", "messages[%d].content[%d]", i, j)
  elseif kind == "image_url" then
    local image = part.image_url
    if is_object(image) then
      req_string(image, "url", "messages[%d].content[%d].image_url", i, j)
      opt_string(image, "detail", "messages[%d].content[%d].image_url", i, j)
    elseif type(image) ~= "string" then
      wrong(format("messages[%d].content[%d].image_url", i, j), "an object", image)
    end
  end
end

local function check_tool_call(call, i, j)
  need_object(call, "messages[%d].tool_calls[%d]", i, j)
  opt_string(call, "id", "messages[%d].tool_calls[%d]", i, j)
  opt_string(call, "type", "messages[%d].tool_calls[%d]", i, j)
  need_object(call["function"], "messages[%d].tool_calls[%d].function", i, j)
  req_string(call["function"], "name", "messages[%d].tool_calls[%d].function", i, j)
  opt_string(call["function"], "arguments", "messages[%d].tool_calls[%d].function", i, j)
end

-- The common case (a string content, no tool calls) is a handful of inline type tests.
local function check_chat_message(m, i)
  if type(m) ~= "table" or is_array(m) then wrong(format("messages[%d]", i), "an object", m) end
  if type(m.role) ~= "string" then wrong(format("messages[%d].role", i), "a string", m.role) end
  local content = m.content
  if content ~= nil and type(content) ~= "string" and content ~= null then
    if not is_list(content) then
      wrong(format("messages[%d].content", i), "a string or an array of content parts", content)
    end
    for j, part in ipairs(content) do check_chat_part(part, i, j - 1) end
  end
  local calls = m.tool_calls
  if calls ~= nil and calls ~= null then
    if not is_list(calls) then wrong(format("messages[%d].tool_calls", i), "an array", calls) end
    for j, call in ipairs(calls) do check_tool_call(call, i, j - 1) end
  end
  local id, name = m.tool_call_id, m.name
  if id ~= nil and type(id) ~= "string" and id ~= null then wrong(format("messages[%d].tool_call_id", i), "a string", id) end
  if name ~= nil and type(name) ~= "string" and name ~= null then wrong(format("messages[%d].name", i), "a string", name) end
end

local function check_chat_tools(tools)
  if absent(tools) then return end
  if not is_list(tools) then wrong("tools", "an array", tools) end
  for n, tool in ipairs(tools) do
    local i = n - 1
    need_object(tool, "tools[%d]", i)
    opt_string(tool, "type", "tools[%d]", i)
    local fn = tool["function"]
    if fn ~= nil then
      need_object(fn, "tools[%d].function", i)
      req_string(fn, "name", "tools[%d].function", i)
      opt_string(fn, "description", "tools[%d].function", i)
      opt_boolean(fn, "strict", "tools[%d].function", i)
      opt_object(fn, "parameters", "tools[%d].function", i)
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

local function check_response_format(format_)
  if absent(format_) then return end
  if not is_object(format_) then wrong("response_format", "an object", format_) end
  req_string(format_, "type", "response_format")
  local schema = opt_object(format_, "json_schema", "response_format")
  if schema then
    opt_string(schema, "name", "response_format.json_schema")
    opt_object(schema, "schema", "response_format.json_schema")
  end
end

-- An OpenAI chat completions request, as the translating converters read it.
function M.chat_request(body)
  if not is_object(body) then wrong("body", "an object", body) end
  -- The scalar fields, one flat loop (this runs on every translated request).
  for i = 1, #CHAT_SCALARS do
    local field = CHAT_SCALARS[i]
    local value = body[field[1]]
    if value ~= nil and value ~= null and not field[2](value) then wrong(field[1], field[3], value) end
  end
  local messages = body.messages
  if not is_list(messages) then wrong("messages", "an array", messages) end
  for i, m in ipairs(messages) do check_chat_message(m, i - 1) end
  opt_string_list(body, "stop", true)
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

local SOURCE_FIELDS = { "type", "media_type", "data", "url" }

-- One content block at `parent`, a format with its indexes: ("messages[%d].content[%d]", i, j).
-- The blocks inside a tool_result are checked at one more level (`inner`), and no deeper.
local function check_block(block, inner, parent, ...)
  need_object(block, parent, ...)
  local kind = block.type
  if type(kind) ~= "string" then wrong(path_of("type", parent, ...), "a string", kind) end
  if kind == "text" then
    req_string(block, "text", parent, ...)
  elseif kind == "image" then
    local source = block.source
    if not is_object(source) then wrong(path_of("source", parent, ...), "an object", source) end
    for _, key in ipairs(SOURCE_FIELDS) do
      local value = source[key]
      if value ~= nil and value ~= null and type(value) ~= "string" then
        wrong(path_of("source", parent, ...) .. "." .. key, "a string", value)
      end
    end
  elseif kind == "tool_use" then
    opt_string(block, "id", parent, ...)
    req_string(block, "name", parent, ...)
    opt_tree(block, "input", parent, ...)
  elseif kind == "tool_result" and not inner then
    opt_string(block, "tool_use_id", parent, ...)
    opt_boolean(block, "is_error", parent, ...)
    local content = block.content
    if content ~= nil and content ~= null and type(content) ~= "string" then
      if not is_list(content) then
        wrong(path_of("content", parent, ...), "a string or an array of content blocks", content)
      end
      local i, j = ...
      for k, item in ipairs(content) do
        if j == nil then
          check_block(item, true, parent .. ".content[%d]", i, k - 1)
        else
          check_block(item, true, parent .. ".content[%d]", i, j, k - 1)
        end
      end
    end
  end
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
  for n, m in ipairs(messages) do
    local i = n - 1
    need_object(m, "messages[%d]", i)
    req_string(m, "role", "messages[%d]", i)
    local content = m.content
    if type(content) ~= "string" then
      if not is_list(content) then
        wrong(format("messages[%d].content", i), "a string or an array of content blocks", content)
      end
      for j, block in ipairs(content) do check_block(block, false, "messages[%d].content[%d]", i, j - 1) end
    end
  end
  local system = body.system
  if not absent(system) and type(system) ~= "string" then
    if not is_list(system) then wrong("system", "a string or an array of text blocks", system) end
    for j, block in ipairs(system) do check_block(block, false, "system[%d]", j - 1) end
  end
  local tools = body.tools
  if not absent(tools) then
    if not is_list(tools) then wrong("tools", "an array", tools) end
    for n, tool in ipairs(tools) do
      local i = n - 1
      need_object(tool, "tools[%d]", i)
      opt_string(tool, "type", "tools[%d]", i)
      req_string(tool, "name", "tools[%d]", i)
      opt_string(tool, "description", "tools[%d]", i)
      opt_tree(tool, "input_schema", "tools[%d]", i)
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
