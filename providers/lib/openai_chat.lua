-- Building blocks for providers that translate to and from OpenAI's chat completions: the shapes
-- an OpenAI client expects back (completion, chunk, usage, error event) and the request checks every
-- translating provider applies the same way.
--
--   local chat = require("openai_chat")
local validate = require("validate")

local M = {}

local null = gw.json.null
local array = gw.json.array

-- An error the gateway turns into an HTTP response (see providers/README.md, "Errors").
function M.bad_request(message, param)
  return { status = 400, type = "invalid_request_error", code = "unsupported_parameter", message = message,
           param = param }
end

function M.upstream_error(message)
  return { status = 502, type = "upstream_error", code = "invalid_upstream_response", message = message }
end

-- Parameters no translating provider can honour. Ones that change the shape of the answer the
-- client relies on are refused; hints are dropped (documented per provider in providers/README.md).
-- First, every field a converter reads must have its type (lib/validate.lua): a 400 naming it.
function M.check_common(body, provider_name)
  validate.chat_request(body)
  if body.n ~= nil and body.n ~= 1 then
    error(M.bad_request(provider_name .. " returns one choice per request; n must be 1", "n"))
  end
  if body.logprobs == true or body.top_logprobs ~= nil then
    error(M.bad_request(provider_name .. " does not return log probabilities", "logprobs"))
  end
  if body.audio ~= nil or (type(body.modalities) == "table" and #body.modalities > 1) then
    error(M.bad_request(provider_name .. " does not produce audio output", "modalities"))
  end
  if type(body.messages) ~= "table" or #body.messages == 0 then
    error(M.bad_request("messages must be a non-empty array", "messages"))
  end
end

-- Appends a turn, merging it into the previous one when the role repeats (providers that want
-- alternating turns, and tool results of one turn that must arrive together). `field` names the
-- list the turn holds: "content" (default) or Gemini's "parts".
function M.push_turn(turns, role, items, field)
  if #items == 0 then return end
  field = field or "content"
  local last = turns[#turns]
  if last and last.role == role then
    for _, item in ipairs(items) do last[field][#last[field] + 1] = item end
  else
    turns[#turns + 1] = { role = role, [field] = items }
  end
end

-- Refuses a content part the provider has no place for.
function M.unsupported_part(provider_name, part, role)
  error(M.bad_request(provider_name .. " does not accept '" .. tostring(part.type) .. "' content parts in " ..
    role .. " messages", "messages"))
end

-- The arguments of an assistant tool call as a table (0-based message index for the message);
-- a 400 when they are not a JSON object.
function M.tool_arguments(call, index)
  local fn = call["function"] or {}
  if type(fn.arguments) ~= "string" or fn.arguments == "" then return {} end
  local ok, decoded = pcall(gw.json.decode, fn.arguments)
  if not ok or type(decoded) ~= "table" then
    error(M.bad_request("messages[" .. index .. "].tool_calls: arguments of '" .. tostring(fn.name) ..
      "' are not a JSON object", "messages"))
  end
  return decoded
end

-- The text of a message's content: a string, or the text parts of an array.
function M.text_of(content)
  if type(content) == "string" then return content end
  if type(content) ~= "table" then return "" end
  local pieces = {}
  for _, part in ipairs(content) do
    if type(part) == "table" and part.type == "text" and type(part.text) == "string" then
      pieces[#pieces + 1] = part.text
    end
  end
  return table.concat(pieces)
end

-- "data:image/png;base64,AAAA" -> "image/png", "AAAA"; nil for anything else.
function M.parse_data_url(url)
  local media_type, data = url:match("^data:([%w%.%+%-]+/[%w%.%+%-]+);base64,(.*)$")
  return media_type, data
end

-- max_completion_tokens, else max_tokens, else the provider's default.
function M.max_tokens(body, default)
  local value = body.max_completion_tokens
  if value == nil or value == null then value = body.max_tokens end
  if value == nil or value == null then return default end
  if math.type(value) ~= "integer" or value < 1 then
    error(M.bad_request("max_tokens must be a positive integer", "max_tokens"))
  end
  return value
end

-- stop as a list of strings (OpenAI accepts a string or up to 4 strings).
function M.stop_list(stop)
  if stop == nil or stop == null then return nil end
  if type(stop) == "string" then return array({ stop }) end
  return array(stop)
end

-- OpenAI usage from prompt/completion counts, with cached prompt tokens when known.
function M.usage(prompt, completion, cached)
  prompt, completion = prompt or 0, completion or 0
  local usage = { prompt_tokens = prompt, completion_tokens = completion, total_tokens = prompt + completion }
  if cached and cached > 0 then usage.prompt_tokens_details = { cached_tokens = cached } end
  return usage
end

-- A complete chat.completion.
function M.completion(id, model, message, finish_reason, usage)
  return {
    id = id, object = "chat.completion", created = math.floor(gw.time()), model = model,
    choices = array({ { index = 0, message = message, finish_reason = finish_reason or null, logprobs = null } }),
    usage = usage,
  }
end

-- A chat.completion.chunk carrying one delta (and a finish reason on the last one).
function M.chunk(state, delta, finish_reason)
  return {
    id = state.id, object = "chat.completion.chunk", created = state.created, model = state.model,
    choices = array({ { index = 0, delta = delta, finish_reason = finish_reason or null, logprobs = null } }),
  }
end

-- The usage chunk sent after the finish chunk when the client set stream_options.include_usage.
function M.usage_chunk(state, usage)
  return {
    id = state.id, object = "chat.completion.chunk", created = state.created, model = state.model,
    choices = array(), usage = usage,
  }
end

-- An error event in OpenAI's shape: the SDKs raise it as an APIError mid-stream.
function M.error_event(message, type_, code)
  return { data = { error = { message = message, type = type_ or "upstream_error", param = null, code = code or null } } }
end

-- Ends a translated stream with an error event (later events are ignored: ctx.failed).
function M.fail_stream(ctx, message, code)
  ctx.failed = true
  return { M.error_event(message, "upstream_error", code) }
end

-- The event an upstream sent that is not JSON: the stream ends with an error naming it.
function M.not_json(ctx, provider_name, event)
  return M.fail_stream(ctx, provider_name .. " sent an event that is not JSON: " .. tostring(event.text):sub(1, 200),
    "invalid_upstream_event")
end

-- OpenAI's embeddings list from float vectors; with base64 = true each vector is float32
-- little-endian bytes in base64, exactly as OpenAI encodes encoding_format "base64" (the OpenAI
-- SDK's default).
function M.embedding_list(vectors, model, prompt_tokens, base64)
  local data = array()
  for i, vector in ipairs(vectors) do
    local embedding
    if base64 then
      local pieces = {}
      for j, value in ipairs(vector) do pieces[j] = string.pack("<f", value) end
      embedding = gw.base64.encode(table.concat(pieces))
    else
      embedding = array(vector)
    end
    data[i] = { object = "embedding", index = i - 1, embedding = embedding }
  end
  return { object = "list", data = data, model = model,
           usage = { prompt_tokens = prompt_tokens or 0, total_tokens = prompt_tokens or 0 } }
end

-- The texts of an OpenAI embeddings input (a string or a list of strings); token arrays are refused.
function M.embedding_texts(body, provider_name)
  validate.embeddings_request(body)
  local input = body.input
  if type(input) == "string" then input = { input } end
  if type(input) ~= "table" or #input == 0 then
    error(M.bad_request("input must be a string or a non-empty array of strings", "input"))
  end
  for i, text in ipairs(input) do
    if type(text) ~= "string" then
      error(M.bad_request(provider_name .. " embeds text only; input[" .. (i - 1) .. "] is not a string", "input"))
    end
  end
  local format = body.encoding_format
  if format ~= nil and format ~= null and format ~= "float" and format ~= "base64" then
    error(M.bad_request("encoding_format must be float or base64", "encoding_format"))
  end
  return input, format == "base64"
end

return M
