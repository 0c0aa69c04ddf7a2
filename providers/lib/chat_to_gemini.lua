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
-- frequency_penalty map to generationConfig's seed, presencePenalty and frequencyPenalty;
-- reasoning_effort to generationConfig.thinkingConfig (thinking_config below), and thought parts
-- come back as reasoning_content. A functionCall part's thoughtSignature rides in the tool-call id
-- and goes back on that part in the next turn (id_with_signature, signature_of).
-- Refused with 400 (the client relies on them and Gemini has nothing that honours them): the fields
-- declared "refused" (logit_bias, verbosity, …); n other than 1, logprobs, modalities
-- other than text (openai_chat.check_common); parallel_tool_calls false with tools (Gemini cannot
-- be kept to one call per turn); reasoning_effort none for a model that cannot stop thinking;
-- content parts other than text and images; image URLs other than http(s) (fetched by the gateway:
-- Gemini takes bytes), base64 data URLs or gs:// URIs; tools other than functions; an unknown
-- tool_choice or response_format type; a json_schema response_format without a schema; a $ref that
-- does not resolve in its schema; a tool message whose tool_call_id matches no earlier tool call
-- (Gemini answers tools by name); roles other than system/developer/user/assistant/tool; model names
-- that cannot go in a URL path.
-- Schemas go through lib/gemini_schema.lua ($ref inlined, keywords Gemini's Schema refuses left
-- out); a recursive one goes as is in parametersJsonSchema / responseJsonSchema.
local chat = require("openai_chat")
local params = require("params")
local gemini_schema = require("gemini_schema")

local null = gw.json.null
local array = gw.json.array
local json = gw.json

local NAME = "Google Gemini"
local M = { from = "chat/completions", to = "gemini" }

M.params = chat.chat_params {
  seed = "mapped", presence_penalty = "mapped", frequency_penalty = "mapped",  -- generationConfig
  parallel_tool_calls = "mapped",  -- true is Gemini's way; false with tools is refused
  reasoning_effort = "mapped",  -- generationConfig.thinkingConfig (thinking_config below)
}

-- reasoning_effort -> thinkingConfig. Gemini 3 and later take a level (thinkingLevel; Gemini 3 Pro
-- knows only low and high, so those two are sent) and cannot turn thinking off; Gemini 2.5 takes a
-- budget in tokens (thinkingBudget; 0 turns thinking off where the model allows it — 2.5 Pro does not
-- and answers 400). The two fields cannot go together (400). Budgets stay within every 2.5 model's
-- range (Flash-Lite 512–24576, Flash 0–24576, Pro 128–32768).
local THINKING_LEVEL = { minimal = "low", low = "low", medium = "high", high = "high", xhigh = "high" }
local THINKING_BUDGET = { none = 0, minimal = 512, low = 1024, medium = 8192, high = 24576, xhigh = 24576 }

local function thinks_in_levels(model)
  local major = tonumber(model:match("^gemini%-(%d+)"))
  return major ~= nil and major >= 3
end

local function thinking_config(body, model)
  local effort = body.reasoning_effort
  if effort == nil or effort == null then return nil end
  if THINKING_BUDGET[effort] == nil then
    error(chat.bad_request("reasoning_effort must be none, minimal, low, medium, high or xhigh", "reasoning_effort"))
  end
  if thinks_in_levels(model) then
    if effort == "none" then
      error(chat.bad_request(model .. " cannot turn thinking off; reasoning_effort none is not supported (minimal or low think least)",
        "reasoning_effort"))
    end
    return { thinkingLevel = THINKING_LEVEL[effort], includeThoughts = true }
  end
  if effort == "none" then return { thinkingBudget = 0 } end
  return { thinkingBudget = THINKING_BUDGET[effort], includeThoughts = true }
end

-- Gemini's thoughtSignature on a functionCall part must come back on that part in the next turn
-- (Gemini 3 refuses the turn without it). OpenAI's dialect has no place for it, but the tool-call id
-- goes to the client and comes back verbatim (tool_calls[].id, tool_call_id), so it rides there:
-- "<id>__ts_<signature in base64url>" (letters, digits, '_' and '-' only, so the id also passes
-- Anthropic's tool_use id pattern on /v1/messages). Signatures are standard base64 bytes; the url
-- alphabet restores the same bytes.
local SIGNATURE_MARK = "__ts_"

local function id_with_signature(id, signature)
  if type(signature) ~= "string" or signature == "" then return id end
  return id .. SIGNATURE_MARK .. signature:gsub("%+", "-"):gsub("/", "_"):gsub("=+$", "")
end

local function signature_of(id)
  if type(id) ~= "string" then return nil end
  local at = id:find(SIGNATURE_MARK, 1, true)
  if not at then return nil end
  local signature = id:sub(at + #SIGNATURE_MARK):gsub("%-", "+"):gsub("_", "/")
  if signature == "" then return nil end
  return signature .. string.rep("=", (4 - #signature % 4) % 4)
end

-- A JSON schema for Gemini (lib/gemini_schema.lua): in `Schema` form under `field`, or — when Schema
-- cannot hold it (a recursive $ref, a schema too large once refs are inlined) — as is under
-- `json_field` (parametersJsonSchema / responseJsonSchema take full JSON Schema).
local function put_schema(out, field, json_field, schema, where, param)
  local converted = gemini_schema.convert(schema, where, param)
  if converted then out[field] = converted else out[json_field] = schema end
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
        parts[#parts + 1] = { functionCall = { name = fn.name, args = args }, thoughtSignature = signature_of(call.id) }
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
      declarations[i] = { name = fn.name, description = fn.description }
      if type(fn.parameters) == "table" then
        put_schema(declarations[i], "parameters", "parametersJsonSchema", fn.parameters,
          "tools[" .. (i - 1) .. "].function.parameters (" .. tostring(fn.name) .. ")", "tools")
      end
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
    thinkingConfig = thinking_config(body, model),
  }
  local format, schema = chat.response_format(body)
  if format == "json_object" then
    generation.responseMimeType = "application/json"
  elseif format == "json_schema" then
    if not schema then
      error(chat.bad_request("response_format.json_schema.schema must be a JSON schema object", "response_format"))
    end
    generation.responseMimeType = "application/json"
    put_schema(generation, "responseSchema", "responseJsonSchema", schema, "response_format.json_schema.schema",
      "response_format")
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
  local usage = chat.usage(prompt, completion, u.cachedContentTokenCount)
  if math.type(u.thoughtsTokenCount) == "integer" then
    usage.completion_tokens_details = { reasoning_tokens = u.thoughtsTokenCount }
  end
  return usage
end

-- Text, tool calls and thought text of one candidate's parts. `first_index` numbers tool calls in
-- a stream. A functionCall part's thoughtSignature rides in the call's id (id_with_signature).
local function read_parts(parts, first_index)
  local text, calls, thoughts = {}, array(), {}
  for _, part in ipairs(type(parts) == "table" and parts or {}) do
    if type(part.text) == "string" and part.thought == true then
      thoughts[#thoughts + 1] = part.text
    elseif type(part.text) == "string" then
      text[#text + 1] = part.text
    elseif type(part.functionCall) == "table" then
      local call = part.functionCall
      local id = type(call.id) == "string" and call.id ~= "" and call.id or ("call_" .. gw.uuid():gsub("-", ""):sub(1, 24))
      calls[#calls + 1] = {
        index = first_index and (first_index + #calls) or nil,
        id = id_with_signature(id, part.thoughtSignature),
        type = "function",
        ["function"] = { name = call.name, arguments = json.encode(call.args or {}) },
      }
    end
  end
  return table.concat(text), calls, table.concat(thoughts)
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
  local text, calls, thoughts = read_parts(candidate.content and candidate.content.parts, nil)
  local message = { role = "assistant", content = text ~= "" and text or null, refusal = null }
  if thoughts ~= "" then message.reasoning_content = thoughts end
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
    local text, calls, thoughts = read_parts(candidate.content and candidate.content.parts, ctx.tool_count)
    if thoughts ~= "" then out[#out + 1] = chat.delta(ctx, { reasoning_content = thoughts }) end
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
