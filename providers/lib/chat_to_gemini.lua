-- Converter: OpenAI chat completions -> Gemini generateContent
-- (https://ai.google.dev/api/generate-content), and the answers and streams back. Used by the google
-- provider and by vertex-ai for Gemini models:
--   request(ctx)        -> the Gemini request body and the model name (reads ctx.body, notes in
--                          ctx); or nil, nil, urls when image URLs must be fetched first
--   response(ctx, res)  -> a chat.completion
--   stream(ctx, event)  -> chat.completion.chunk events, then [DONE]
--   model_id(body, example) the model name for a URL path (shared with embeddings_to_gemini)
--
-- Every request field is declared in M.params (mapped, refused or dropped with the reason; see
-- lib/params.lua and providers/README.md, "Map or refuse"): seed, presence_penalty and
-- frequency_penalty map to generationConfig's seed, presencePenalty and frequencyPenalty.
-- Refused with 400 (the client relies on them and Gemini has nothing that honours them): the fields
-- declared "refused" (logit_bias, reasoning_effort, …); n other than 1, logprobs, modalities
-- other than text (openai_chat.check_common); parallel_tool_calls false with tools (Gemini cannot
-- be kept to one call per turn); content parts other
-- than text and images; image URLs other than http(s) (fetched by the gateway: Gemini takes bytes),
-- base64 data URLs or gs:// URIs; tools other than functions; an unknown tool_choice or
-- response_format type; a json_schema response_format without a schema; a tool message whose
-- tool_call_id matches no earlier tool call (Gemini answers tools by name); roles other than
-- system/developer/user/assistant/tool; model names that cannot go in a URL path.
-- Dropped: the JSON-schema keywords Gemini refuses (clean_schema below).
local chat = require("openai_chat")
local params = require("params")

local null = gw.json.null
local array = gw.json.array
local json = gw.json

local NAME = "Google Gemini"
local M = { from = "chat/completions", to = "gemini" }

M.params = chat.chat_params {
  seed = "mapped", presence_penalty = "mapped", frequency_penalty = "mapped",  -- generationConfig
  parallel_tool_calls = "mapped",  -- true is Gemini's way; false with tools is refused
}

-- JSON-schema keywords Gemini's function declarations and response schemas refuse. Only schema
-- keywords are removed: the names under `properties` are the caller's and stay as they are.
local REJECTED = { additionalProperties = true, ["$schema"] = true, strict = true, ["$id"] = true }
local SCHEMA_LISTS = { anyOf = true, oneOf = true, allOf = true, prefixItems = true }

local function clean_schema(schema)
  if type(schema) ~= "table" or gw.json.is_array(schema) then return schema end
  local cleaned = {}
  for key, value in pairs(schema) do
    if REJECTED[key] then
      -- dropped
    elseif key == "properties" and type(value) == "table" then
      local properties = {}
      for name, property in pairs(value) do properties[name] = clean_schema(property) end
      cleaned[key] = properties
    elseif (key == "items" or key == "not") and type(value) == "table" then
      cleaned[key] = clean_schema(value)
    elseif SCHEMA_LISTS[key] and type(value) == "table" then
      local list = array()
      for i, item in ipairs(value) do list[i] = clean_schema(item) end
      cleaned[key] = list
    else
      cleaned[key] = value
    end
  end
  return cleaned
end

local FINISH = {
  STOP = "stop", MAX_TOKENS = "length", SAFETY = "content_filter", RECITATION = "content_filter",
  BLOCKLIST = "content_filter", PROHIBITED_CONTENT = "content_filter", SPII = "content_filter",
  IMAGE_SAFETY = "content_filter", LANGUAGE = "stop", OTHER = "stop", MALFORMED_FUNCTION_CALL = "stop",
}

local function parts_of(content, role, ctx)
  if type(content) == "string" then
    return array({ { text = content } })
  end
  local parts = array()
  if type(content) ~= "table" then return parts end
  for _, part in ipairs(content) do
    if part.type == "text" then
      parts[#parts + 1] = { text = part.text }
    elseif part.type == "image_url" then
      -- Gemini needs the bytes of an http(s) image: the gateway fetches it (public hosts only,
      -- bounded) and prepare runs again with ctx.fetched[url].
      local kind, a, b = chat.image_of(part, ctx, true)
      if kind == "data" then
        parts[#parts + 1] = { inline_data = { mime_type = a, data = b } }
      elseif kind == "other" and type(a) == "string" and a:match("^gs://") then
        parts[#parts + 1] = { file_data = { file_uri = a } }
      elseif kind ~= "fetching" then
        error(chat.bad_request(NAME .. " accepts images as http(s) URLs, base64 data URLs or gs:// URIs", "messages"))
      end
    else
      chat.unsupported_part(NAME, part, role)
    end
  end
  return parts
end

local function translate_messages(body, ctx)
  local system = array()
  local contents = array()
  local names = {}  -- tool_call_id -> function name (Gemini answers tools by name)
  for index, m in ipairs(body.messages) do
    local role = m.role
    if role == "system" or role == "developer" then
      system[#system + 1] = { text = chat.text_of(m.content) }
    elseif role == "user" then
      chat.push_turn(contents, "user", parts_of(m.content, "user", ctx), "parts")
    elseif role == "assistant" then
      local parts = array()
      local text = chat.text_of(m.content)
      if text ~= "" then parts[1] = { text = text } end
      for _, call in ipairs(type(m.tool_calls) == "table" and m.tool_calls or {}) do
        local fn = call["function"] or {}
        local args = chat.tool_arguments(call, index - 1)
        names[call.id or ""] = fn.name
        parts[#parts + 1] = { functionCall = { name = fn.name, args = args } }
      end
      chat.push_turn(contents, "model", parts, "parts")
    elseif role == "tool" then
      local name = names[m.tool_call_id or ""]
      if not name then
        error(chat.bad_request("messages[" .. (index - 1) .. "]: tool_call_id '" .. tostring(m.tool_call_id) ..
          "' matches no earlier assistant tool call (" .. NAME .. " answers tools by name)", "messages"))
      end
      local text, object = chat.tool_result(m)
      local response = object or { result = text }
      chat.push_turn(contents, "user", array({ { functionResponse = { name = name, response = response } } }), "parts")
    else
      chat.unsupported_role(NAME, role)
    end
  end
  return system, contents
end

local TOOL_MODE = { auto = "AUTO", none = "NONE", required = "ANY", ["function"] = "ANY" }

local function translate_tools(body, out)
  local functions = chat.function_tools(body, NAME)
  if functions then
    local declarations = array()
    for i, fn in ipairs(functions) do
      declarations[i] = {
        name = fn.name, description = fn.description,
        parameters = fn.parameters and clean_schema(fn.parameters) or nil,
      }
    end
    out.tools = array({ { functionDeclarations = declarations } })
  end
  local choice, name = chat.tool_choice(body)
  if choice then
    out.toolConfig = { functionCallingConfig = { mode = TOOL_MODE[choice],
                                                 allowedFunctionNames = name and array({ name }) or nil } }
  end
end

-- The model name of a request for the URL path (a leading "models/" is accepted); names that
-- cannot stand in a path are refused, with `example` as a hint.
function M.model_id(body, example)
  local model = type(body.model) == "string" and body.model:gsub("^models/", "") or ""
  if model == "" or model:find("[/?#:%s]") then
    error(chat.bad_request("model must name a Gemini " .. example, "model"))
  end
  return model
end

function M.request(ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  params.check(M, body, NAME)
  chat.check_common(body, NAME)
  chat.parallel_tools_default_only(body, NAME)
  local model = M.model_id(body, "model, e.g. gemini-2.5-flash")

  local system, contents = translate_messages(body, ctx)
  if ctx.fetch_list then return nil, nil, ctx.fetch_list end
  local generation = {
    temperature = body.temperature,
    topP = body.top_p,
    stopSequences = chat.stop_list(body.stop),
    maxOutputTokens = chat.max_tokens(body, nil),
    seed = body.seed,
    presencePenalty = body.presence_penalty,
    frequencyPenalty = body.frequency_penalty,
  }
  local format, schema = chat.response_format(body)
  if format == "json_object" then
    generation.responseMimeType = "application/json"
  elseif format == "json_schema" then
    if not schema then
      error(chat.bad_request("response_format.json_schema.schema must be a JSON schema object", "response_format"))
    end
    generation.responseMimeType = "application/json"
    generation.responseSchema = clean_schema(schema)
  end
  local out = { contents = contents, generationConfig = generation }
  if #system > 0 then out.systemInstruction = { parts = system } end
  translate_tools(body, out)

  chat.note_request(ctx, body)
  ctx.streaming = body.stream == true

  return out, model
end

local function usage_of(u)
  if type(u) ~= "table" then return nil end
  local prompt = u.promptTokenCount or 0
  local completion = (u.candidatesTokenCount or 0) + (u.thoughtsTokenCount or 0)
  return chat.usage(prompt, completion, u.cachedContentTokenCount)
end

-- Text and tool calls of one candidate's parts. `first_index` numbers tool calls in a stream.
local function read_parts(parts, first_index)
  local text, calls = {}, array()
  for _, part in ipairs(type(parts) == "table" and parts or {}) do
    if type(part.text) == "string" and not part.thought then
      text[#text + 1] = part.text
    elseif type(part.functionCall) == "table" then
      local call = part.functionCall
      calls[#calls + 1] = {
        index = first_index and (first_index + #calls) or nil,
        id = call.id or ("call_" .. gw.uuid():gsub("-", ""):sub(1, 24)),
        type = "function",
        ["function"] = { name = call.name, arguments = json.encode(call.args or {}) },
      }
    end
  end
  return table.concat(text), calls
end

local function finish_of(reason, has_calls)
  if reason == nil or reason == null then return nil end
  if has_calls and reason == "STOP" then return "tool_calls" end
  return FINISH[reason] or "stop"
end

function M.response(ctx, res)
  local r = res.body
  if type(r) ~= "table" then error(chat.upstream_error(NAME .. " answered 2xx with something that is not JSON")) end
  local candidate = type(r.candidates) == "table" and r.candidates[1] or nil
  if not candidate then
    local feedback = type(r.promptFeedback) == "table" and r.promptFeedback.blockReason
    if feedback then
      return { body = chat.completion(r.responseId or ("gemini-" .. gw.uuid()), r.modelVersion or ctx.requested_model,
        { role = "assistant", content = null, refusal = "blocked: " .. tostring(feedback) }, "content_filter",
        usage_of(r.usageMetadata) or chat.usage(0, 0)) }
    end
    error(chat.upstream_error(NAME .. " answered 2xx without candidates"))
  end
  local text, calls = read_parts(candidate.content and candidate.content.parts, nil)
  local message = { role = "assistant", content = text ~= "" and text or null, refusal = null }
  if #calls > 0 then message.tool_calls = calls end
  return { body = chat.completion(r.responseId or ("gemini-" .. gw.uuid()), r.modelVersion or ctx.requested_model,
    message, finish_of(candidate.finishReason, #calls > 0) or "stop", usage_of(r.usageMetadata) or chat.usage(0, 0)) }
end

-- One upstream event in, zero or more OpenAI chunks out. A Gemini stream has no terminal event of
-- its own: the finishReason is its last word, and the usage chunk and [DONE] follow at the end.
local function stream_event(ctx, event)
  local r = event.data
  if type(r) ~= "table" then return chat.not_json(ctx, NAME, event) end
  if type(r.error) == "table" then
    return chat.fail_stream(ctx, NAME .. ": " .. tostring(r.error.message or "stream error"), r.error.status,
      r.error.status)
  end
  local out = {}
  if not ctx.started then
    ctx.started = true
    ctx.tool_count = 0
    out[1] = chat.start(ctx, r.responseId or ("gemini-" .. gw.uuid()), r.modelVersion or ctx.requested_model)
  end
  if r.usageMetadata then ctx.usage = usage_of(r.usageMetadata) end
  local candidate = type(r.candidates) == "table" and r.candidates[1] or nil
  if candidate then
    local text, calls = read_parts(candidate.content and candidate.content.parts, ctx.tool_count)
    if text ~= "" then out[#out + 1] = chat.delta(ctx, { content = text }) end
    if #calls > 0 then
      ctx.tool_count = ctx.tool_count + #calls
      ctx.had_calls = true
      out[#out + 1] = chat.delta(ctx, { tool_calls = calls })
    end
    local finish = finish_of(candidate.finishReason, ctx.had_calls)
    if finish then out[#out + 1] = chat.finish(ctx, finish) end
  elseif type(r.promptFeedback) == "table" and r.promptFeedback.blockReason then
    out[#out + 1] = chat.finish(ctx, "content_filter")
  end
  return out
end

M.stream = chat.stream_translator {
  name = NAME, terminal = "a finishReason", event = stream_event,
  ended = function(ctx) return chat.close(ctx, ctx.usage or chat.usage(0, 0)) end,
}

return M
