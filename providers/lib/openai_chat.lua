-- Building blocks for converters from and to OpenAI's chat completions: the shapes an OpenAI
-- client expects back (completion, chunk, usage, error event), the request checks every converter
-- applies the same way, the image-part reading and the lifecycle of a translated stream.
--
--   local chat = require("openai_chat")
--
-- Stream lifecycle. Every converter's `stream(ctx, event)` is `chat.stream_translator { ... }`
-- around its own per-event function, so these rules hold in one place:
--   start     chat.start(ctx, id, model)      the role chunk; sets ctx.id, ctx.model, ctx.created
--   delta     chat.delta(ctx, delta)          one chunk of content or tool calls
--   finish    chat.finish(ctx, reason)        the finish chunk; marks ctx.finished
--   [DONE]    chat.close(ctx, usage, out)     the usage chunk (when the client set
--                                             stream_options.include_usage) and "[DONE]"; marks
--                                             ctx.closed (chat.close_with(ctx, events) for another
--                                             dialect's last events)
--   failure   chat.fail_stream(ctx, message, code, type) or chat.fail_with(ctx, event): one
--             error event; marks ctx.failed
--   truncated the upstream ended (event.done) before its terminal event: one error event naming
--             that event, code stream_truncated — never a quiet end (an upstream whose finish is
--             its last word, like Gemini's, gives stream_translator an `ended` that closes)
-- After a failure or [DONE], nothing more is emitted for the stream.
local compat = require("openai_compatible")
local validate = require("validate")

local M = {}

local null = gw.json.null
local array = gw.json.array

-- A 400 refusing what a converter cannot honour (see providers/README.md, "Errors"): the one
-- implementation in openai_compatible, with code "unsupported_parameter".
function M.bad_request(message, param)
  return compat.bad_request(message, param, "unsupported_parameter")
end

function M.upstream_error(message)
  return { status = 502, type = "upstream_error", code = "invalid_upstream_response", message = message }
end

-- The `params` declarations (lib/params.lua) every chat/completions converter shares: the fields
-- every translating provider treats alike. A converter adds the fields its provider decides
-- (user, metadata, seed, the penalties, parallel_tool_calls, …) in `specific`, which wins.
local CHAT_PARAMS = {
  messages = "mapped", model = "mapped", max_tokens = "mapped", max_completion_tokens = "mapped",
  temperature = "mapped", top_p = "mapped", stop = "mapped", stream = "mapped", tools = "mapped",
  tool_choice = "mapped",
  -- mapped for the values a provider can honour; check_common and the converters refuse the others
  n = "mapped", logprobs = "mapped", modalities = "mapped", stream_options = "mapped",
  response_format = "mapped",
  -- they change the answer and no translating provider has them (reasoning_effort: not yet mapped)
  audio = "refused", top_logprobs = "refused", logit_bias = "refused", functions = "refused",
  function_call = "refused", reasoning_effort = "refused", verbosity = "refused",
  web_search_options = "refused", moderation = "refused",
  prediction = "dropped: a latency hint (Predicted Outputs); the answer is the same without it",
  prompt_cache_key = "dropped: routes the request to OpenAI's prompt cache; the provider caches on its own and the answer is the same",
  prompt_cache_options = "dropped: OpenAI's prompt-cache breakpoints and lifetime; the provider caches on its own and the answer is the same",
  prompt_cache_retention = "dropped: how long OpenAI keeps a cached prefix; the provider caches on its own and the answer is the same",
  store = "dropped: asks OpenAI to keep the completion for its dashboard; nothing is stored and the answer is the same",
  service_tier = "dropped: OpenAI's capacity and price tier; the provider serves at its own and the answer is the same",
  safety_identifier = "dropped: an end-user ID for OpenAI's abuse monitoring; the provider has no place for it and the answer is the same",
  user = "dropped: an end-user ID for OpenAI's abuse monitoring; the provider has no place for it and the answer is the same",
  metadata = "dropped: tags for completions OpenAI stores; the provider has no place for them and the answer is the same",
}

function M.chat_params(specific)
  local params = {}
  for key, value in pairs(CHAT_PARAMS) do params[key] = value end
  for key, value in pairs(specific) do params[key] = value end
  return params
end

-- Refuses parallel_tool_calls false for a provider that cannot keep the model to one call per turn
-- (true is every provider's behaviour; without tools it means nothing).
function M.parallel_tools_default_only(body, provider_name)
  if body.parallel_tool_calls == false and type(body.tools) == "table" and #body.tools > 0 then
    error(M.bad_request(provider_name .. " cannot be kept to one tool call per turn; parallel_tool_calls false is not supported",
      "parallel_tool_calls"))
  end
end

-- Parameters no translating provider can honour. Ones that change the shape of the answer the
-- client relies on are refused; hints are dropped (documented per provider in providers/README.md).
-- First, every field a converter reads must have its type (lib/validate.lua): a 400 naming it.
-- A JSON null is the field's absence.
function M.check_common(body, provider_name)
  validate.chat_request(body)
  if body.n ~= nil and body.n ~= null and body.n ~= 1 then
    error(M.bad_request(provider_name .. " returns one choice per request; n must be 1", "n"))
  end
  if body.logprobs == true or (body.top_logprobs ~= nil and body.top_logprobs ~= null) then
    error(M.bad_request(provider_name .. " does not return log probabilities", "logprobs"))
  end
  if body.audio ~= nil and body.audio ~= null then
    error(M.bad_request(provider_name .. " does not produce audio output", "audio"))
  end
  if type(body.modalities) == "table" then
    for _, modality in ipairs(body.modalities) do
      if modality ~= "text" then
        error(M.bad_request(provider_name .. " produces text only; modalities must be [\"text\"]", "modalities"))
      end
    end
  end
  if type(body.messages) ~= "table" or #body.messages == 0 then
    error(M.bad_request("messages must be a non-empty array", "messages"))
  end
end

-- What a converter's answer side needs from the request, left in ctx: the model the client asked
-- for (ctx.requested_model) and whether it wants the usage chunk (ctx.include_usage).
function M.note_request(ctx, body)
  ctx.requested_model = body.model
  ctx.include_usage = type(body.stream_options) == "table" and body.stream_options.include_usage == true
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

-- Refuses a message role the provider has no place for.
function M.unsupported_role(provider_name, role)
  error(M.bad_request(provider_name .. " does not accept messages with role '" .. tostring(role) .. "'", "messages"))
end

-- A tool message's result: its text, and the decoded JSON object when the text is one (providers
-- that take structured results use it; anything else goes as text).
function M.tool_result(m)
  local text = M.text_of(m.content)
  local ok, decoded = pcall(gw.json.decode, text)
  if ok and type(decoded) == "table" and not gw.json.is_array(decoded) then return text, decoded end
  return text, nil
end

-- The functions of a request's tools, in order (nil when it has none). Only function tools are
-- translated: another type (OpenAI's custom tools) is refused.
function M.function_tools(body, provider_name)
  local tools = body.tools
  if type(tools) ~= "table" or #tools == 0 then return nil end
  local functions = {}
  for i, tool in ipairs(tools) do
    if tool.type ~= "function" or type(tool["function"]) ~= "table" then
      error(M.bad_request(provider_name .. " accepts only function tools", "tools"))
    end
    functions[i] = tool["function"]
  end
  return functions
end

-- The request's tool_choice as "auto", "none", "required" or "function" (then the function's
-- name as well); nil when absent. Anything else (allowed_tools, a custom tool) is refused.
function M.tool_choice(body)
  local choice = body.tool_choice
  if choice == nil or choice == null then return nil end
  if choice == "auto" or choice == "none" or choice == "required" then return choice end
  if type(choice) == "table" and type(choice["function"]) == "table" then return "function", choice["function"].name end
  error(M.bad_request("tool_choice must be auto, none, required or a named function", "tool_choice"))
end

-- The request's response_format as "text", "json_object" or "json_schema" (then its schema
-- object, nil when it has none); nil when absent. Another type is refused.
function M.response_format(body)
  local format = body.response_format
  if type(format) ~= "table" then return nil end
  local kind = format.type
  if kind == "json_schema" then
    local schema = type(format.json_schema) == "table" and format.json_schema.schema
    return kind, type(schema) == "table" and schema or nil
  end
  if kind == "text" or kind == "json_object" then return kind end
  error(M.bad_request("unknown response_format type '" .. tostring(kind) .. "'", "response_format"))
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

-- The URL of an image_url part: `image_url.url`, or `image_url` itself when a client sent the
-- string (not necessarily a string: the caller refuses what it cannot use).
function M.image_url_of(part)
  local image = part.image_url
  if type(image) == "table" then return image.url end
  return image
end

-- The image an image_url part names, as a kind and its values:
--   "data", media_type, data   a base64 data: URL, or with `fetch` an http(s) URL the gateway
--                              fetched (ctx.fetched[url])
--   "url", url                 an http(s) URL (without `fetch`: for providers that take URLs)
--   "fetching", url            with `fetch`, an http(s) URL not fetched yet: it is added to
--                              ctx.fetch_list, and the provider's prepare returns
--                              { fetch = ctx.fetch_list } so the gateway fetches it and calls
--                              prepare again (providers/README.md, "Image URLs")
--   "other", url               any other URL (a gs:// URI, a typo) or a URL that is no string:
--                              the caller maps or refuses it
function M.image_of(part, ctx, fetch)
  local url = M.image_url_of(part)
  if type(url) ~= "string" then return "other", url end
  local media_type, data = M.parse_data_url(url)
  if media_type then return "data", media_type, data end
  if not url:match("^https?://") then return "other", url end
  if not fetch then return "url", url end
  local image = ctx.fetched and ctx.fetched[url]
  if image then return "data", image.media_type, image.data end
  ctx.fetch_list = ctx.fetch_list or {}
  ctx.fetch_list[#ctx.fetch_list + 1] = url
  return "fetching", url
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

-- MARK: stream lifecycle (described at the top of this file)

-- The stream hook of a converter. `spec`:
--   name      the provider's name, for messages
--   terminal  the upstream event that ends a complete stream ("message_stop"), named when the
--             stream ends without it
--   event     function(ctx, event) -> list or nil: one upstream event (event.done never reaches it)
--   ended     optional function(ctx) -> list: when the upstream ends after the finish chunk but
--             before [DONE] (for upstreams whose finish is their last word); without it such a
--             stream is truncated
--   error_event  optional, builds the error event (default: OpenAI's shape, M.error_event); for
--             converters whose client dialect is another one
function M.stream_translator(spec)
  local error_event = spec.error_event or M.error_event
  local name, event_of, ended = spec.name, spec.event, spec.ended
  local truncated = " stream ended before " .. spec.terminal
  return function(ctx, event)
    if ctx.failed or ctx.closed then return nil end
    if event.done then
      if ctx.finished and ended then return ended(ctx) end
      return M.fail_with(ctx, error_event(name .. truncated .. (event.truncated and " (cut inside an event)" or ""),
        nil, "stream_truncated"))
    end
    return event_of(ctx, event)
  end
end

-- The first chunk: the assistant's role. Later chunks carry ctx.id, ctx.model and ctx.created.
function M.start(ctx, id, model)
  ctx.id = id
  ctx.model = model
  ctx.created = math.floor(gw.time())
  return { data = M.chunk(ctx, { role = "assistant", content = "" }) }
end

-- One chunk of content or tool-call deltas.
function M.delta(ctx, delta)
  return { data = M.chunk(ctx, delta) }
end

-- The chunk with the finish reason.
function M.finish(ctx, finish_reason)
  ctx.finished = true
  return { data = M.chunk(ctx, {}, finish_reason) }
end

-- The end of a complete stream, appended to `out` (or a new list): the usage chunk when the
-- client asked for it and `usage` is known, then "[DONE]".
function M.close(ctx, usage, out)
  out = out or {}
  if usage and ctx.include_usage then out[#out + 1] = { data = M.usage_chunk(ctx, usage) } end
  out[#out + 1] = "[DONE]"
  return M.close_with(ctx, out)
end

-- Ends a complete stream with `events`, its last ones in the client's dialect (for a converter
-- whose client dialect is another one: Anthropic's message_stop).
function M.close_with(ctx, events)
  ctx.closed = true
  return events
end

-- Ends a translated stream with `event` (an error event in the client's dialect).
function M.fail_with(ctx, event)
  ctx.failed = true
  return { event }
end

-- Ends a translated stream with an OpenAI error event.
function M.fail_stream(ctx, message, code, type_)
  return M.fail_with(ctx, M.error_event(message, type_ or "upstream_error", code))
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

-- response_format for a target with structured outputs but no JSON mode without a schema
-- (Anthropic, Bedrock Converse): the json_schema's schema, or nil for text or none. json_object,
-- and a json_schema without its schema, are refused.
function M.json_schema_format(body, provider_name)
  local format, schema = M.response_format(body)
  if format == "json_schema" then
    if not schema then
      error(M.bad_request("response_format json_schema needs json_schema.schema", "response_format"))
    end
    return schema
  elseif format == "json_object" then
    error(M.bad_request(provider_name .. " has no JSON mode without a schema; use response_format json_schema " ..
      "(structured outputs) or a tool", "response_format"))
  end
  return nil
end

-- For a converter chained on top of a provider (messages_to_chat, responses_to_chat): the chat
-- completion in a complete 2xx answer, after the provider's own translation when it has one.
function M.provider_completion(ctx, provider, res)
  local completion = res.body
  if provider.response then
    local translated = provider.response(ctx, res).body
    completion = type(translated) == "string" and gw.json.decode(translated) or translated
  end
  if type(completion) ~= "table" or type(completion.choices) ~= "table" or type(completion.choices[1]) ~= "table" then
    error(M.upstream_error("the provider's answer is not a chat completion"))
  end
  return completion
end

-- The chat chunks (or "[DONE]", or an error object) in one upstream event, after the provider's
-- own stream translation when it has one; none for the end of the stream.
function M.provider_chunks(ctx, provider, event)
  local items
  if provider.stream then
    items = provider.stream(ctx, event) or {}
  elseif event.done then
    items = {}
  elseif event.data ~= nil then
    items = { event.data }
  else
    items = { event.text == "[DONE]" and "[DONE]" or { error = { message = "the provider sent an event that is not JSON" } } }
  end
  for i, item in ipairs(items) do
    -- A provider's translation returns events ({ data = chunk }); the chunk is what is converted.
    if type(item) == "table" and item.data ~= nil and item.choices == nil and item.error == nil then items[i] = item.data end
  end
  return items
end

return M
