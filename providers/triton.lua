-- NVIDIA Triton Inference Server — the generate extension, on the user's own server.
-- Reference: https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/protocol/extension_generate.html
--   (read in the server repository, docs/protocol/extension_generate.md; the extension is marked
--   "provisional and likely to change").
--
-- No default host: x-portkey-custom-host is required (400 without it). Write the server,
-- e.g. http://triton:8000, or — as Portkey users do — the model's URL,
-- http://triton:8000/v2/models/mymodel (optionally …/versions/1); then that model is used whatever
-- the body's `model` says.
--
-- POST /v1/completions is translated:
--   OpenAI                          Triton generate request
--   model                           /v2/models/{model}/generate (the URL; the host's model path wins)
--   prompt (a string, or a list     text_input
--     of exactly one string)
--   max_tokens, temperature, top_p  max_tokens, temperature, top_p
--   stream                          /generate_stream (server-sent events) and stream
--   echo (default false)            exclude_input_in_output = not echo
-- Fields sit at the top level of the request: "any additional properties in the request object are
-- passed either as parameters or tensors based on model specification" (the reference), so they
-- reach the TensorRT-LLM ensemble's input tensors (max_tokens, temperature, top_p, stream; its
-- README's generate example puts them at the top level) and the vLLM backend's inputs (stream,
-- exclude_input_in_output) and sampling parameters (max_tokens, temperature, top_p) alike — the
-- names Triton's own OpenAI-compatible frontend sends to those two backends. Parameters are
-- model-specific: a model that reads other names decides what these do. Every other field that
-- changes the answer is refused with 400 naming it: stop, seed, n > 1, best_of, suffix, logprobs,
-- logit_bias, the penalties (the two backends name them differently: stop vs stop_words, seed vs
-- random_seed; OpenAI's defaults best_of 1 and penalties 0 are accepted, as they ask for nothing),
-- stream_options.include_usage (Triton reports no token counts), and any field not listed here.
-- `user` is dropped (an end-user ID for OpenAI's abuse monitoring; Triton has no place for it).
--
-- Answer: {model_name, model_version, text_output} → a text_completion with text = text_output,
-- finish_reason null (the extension does not say why generation ended) and no usage (it counts no
-- tokens). text_output is the model's output as the backend returns it. Errors ({"error": "…"})
-- become OpenAI errors with Triton's status and message.
-- Stream: each event's text_output becomes one chunk's text (the LLM backends send the new text per
-- response — not verified for every backend version); an {"error": …} event ends the stream with an error event. The extension has no final
-- event: the stream is complete when the server ends the response; a response cut off (inside an
-- event, or before any event) ends with a stream_truncated error event — never a quiet end.
--
-- Every other /v1 path passes through to the server root: /v1/v2/models/mymodel/infer →
-- http://triton:8000/v2/models/mymodel/infer (Triton's own KServe v2 API).
-- Auth: none by default; a key the client sends is forwarded as Authorization: Bearer <key>
-- (for a server behind an authenticating proxy).
-- Not verified live (no Triton server here): the exchange, the parameter names per backend.
local compat = require("openai_compatible")
local chat = require("openai_chat")

local NAME = "NVIDIA Triton"
local json = gw.json
local null = json.null

local provider = {
  name = NAME,
  docs = "https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/protocol/extension_generate.html",
  auth_scheme = "none (a client key is sent as Authorization: Bearer <key>)",
  notes = "custom host required (the server, or …/v2/models/{model}); completions → generate / generate_stream (text_input, max_tokens, temperature, top_p, stream, exclude_input_in_output); other paths pass through to the server root; not verified live",
  endpoints = { completions = "translate", ["*"] = "passthrough" },
  decode_body = true,
  requires_key = false,
}

local function server(ctx)
  if not ctx.custom_host then
    error(compat.bad_request(NAME .. " has no default host: set x-portkey-custom-host to your server (e.g. http://triton:8000)",
      nil, "missing_custom_host"))
  end
  local host = ctx.custom_host:gsub("/+$", "")
  local root, model_path = host:match("^(.-)(/v2/models/[^/]+.*)$")
  if root then return root, model_path end
  return (host:gsub("/v2$", "")), nil
end

local function auth_headers(ctx)
  if ctx.api_key and ctx.api_key ~= "" then return { authorization = "Bearer " .. ctx.api_key } end
  return {}
end

function provider.auth(ctx)
  local root = server(ctx)
  return root, auth_headers(ctx)
end

-- The request fields and what becomes of them (map or refuse; `user` is the one dropped).
local FIELDS = {
  model = "mapped", prompt = "mapped", max_tokens = "mapped", temperature = "mapped", top_p = "mapped",
  stream = "mapped", n = "mapped", stream_options = "mapped", echo = "mapped",
  user = "dropped",
}

-- OpenAI's own defaults of fields Triton cannot take: sent explicitly, they ask for nothing.
local DEFAULTS = { best_of = 1, presence_penalty = 0, frequency_penalty = 0 }

local function is_null(value) return value == nil or value == null end

local function number_param(body, name, request)
  local value = body[name]
  if is_null(value) then return end
  if type(value) ~= "number" or value ~= value or value == math.huge or value == -math.huge then
    error(compat.bad_request(name .. " must be a number", name, "invalid_type"))
  end
  request[name] = value
end

-- A model name as one path segment (RFC 3986 unreserved characters stay).
local function segment(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function provider.prepare(ctx)
  local root, model_path = server(ctx)
  local body = ctx.body
  if type(body) ~= "table" then error(compat.bad_request("the request body must be a JSON object")) end
  local names = {}
  for key in pairs(body) do names[#names + 1] = key end
  table.sort(names)
  for _, key in ipairs(names) do
    if not FIELDS[key] and not is_null(body[key]) and DEFAULTS[key] ~= body[key] then
      error(chat.bad_request(NAME .. "'s generate extension has no place for '" .. key ..
        "' (parameters are model-specific; the gateway sends only max_tokens, temperature, top_p, stream and exclude_input_in_output)", key))
    end
  end

  local prompt = body.prompt
  if type(prompt) == "table" and #prompt == 1 and type(prompt[1]) == "string" then prompt = prompt[1] end
  if type(prompt) ~= "string" then
    error(chat.bad_request(NAME .. " takes one text prompt: prompt must be a string (or a list of one string)", "prompt"))
  end
  if not is_null(body.n) and body.n ~= 1 then
    error(chat.bad_request(NAME .. " generates one completion per request: n must be 1", "n"))
  end
  local stream = body.stream == true
  if not is_null(body.stream) and type(body.stream) ~= "boolean" then
    error(compat.bad_request("stream must be a boolean", "stream", "invalid_type"))
  end
  local options = body.stream_options
  if not is_null(options) and type(options) ~= "table" then
    error(compat.bad_request("stream_options must be an object", "stream_options", "invalid_type"))
  end
  if type(options) == "table" and options.include_usage == true then
    error(chat.bad_request(NAME .. " reports no token counts: stream_options.include_usage cannot be honoured",
      "stream_options.include_usage"))
  end

  if not is_null(body.echo) and type(body.echo) ~= "boolean" then
    error(compat.bad_request("echo must be a boolean", "echo", "invalid_type"))
  end
  local request = { text_input = prompt, stream = stream, exclude_input_in_output = body.echo ~= true }
  if not is_null(body.max_tokens) then
    if math.type(body.max_tokens) ~= "integer" or body.max_tokens < 1 then
      error(compat.bad_request("max_tokens must be a positive integer", "max_tokens", "invalid_value"))
    end
    request.max_tokens = body.max_tokens
  end
  number_param(body, "temperature", request)
  number_param(body, "top_p", request)

  if not model_path then
    if type(body.model) ~= "string" or body.model == "" then
      error(compat.bad_request("model must name the Triton model (or write it in the custom host: …/v2/models/{model})", "model"))
    end
    model_path = "/v2/models/" .. segment(body.model)
  end
  ctx.requested_model = type(body.model) == "string" and body.model or nil
  ctx.streaming = stream
  local headers = auth_headers(ctx)
  headers["content-type"] = "application/json"
  if stream then headers.accept = "text/event-stream" end
  return {
    url = root .. model_path .. (stream and "/generate_stream" or "/generate"),
    method = "POST", headers = headers,
    body = request,
  }
end

local function completion_object(ctx, text, model, created)
  return {
    id = ctx.id, object = "text_completion", created = created, model = model,
    choices = json.array({ { text = text, index = 0, logprobs = null, finish_reason = null } }),
  }
end

function provider.response(ctx, res)
  local body = res.body
  if type(body) ~= "table" or type(body.text_output) ~= "string" then
    error(chat.upstream_error(NAME .. " answered 2xx without a text_output string"))
  end
  ctx.id = "cmpl-" .. gw.uuid()
  local model = type(body.model_name) == "string" and body.model_name or ctx.requested_model
  return { body = completion_object(ctx, body.text_output, model, math.floor(gw.time())) }
end

function provider.stream(ctx, event)
  if ctx.failed or ctx.closed then return nil end
  if event.done then
    if event.truncated or not ctx.id then
      return chat.fail_stream(ctx, NAME .. " stream ended " ..
        (event.truncated and "inside an event" or "before any response"), "stream_truncated")
    end
    return chat.close_with(ctx, { "[DONE]" })
  end
  local data = event.data
  if type(data) ~= "table" then return chat.not_json(ctx, NAME, event) end
  if data.error ~= nil and data.error ~= null then
    return chat.fail_stream(ctx, NAME .. ": " .. tostring(type(data.error) == "table" and json.encode(data.error) or data.error),
      "upstream_error")
  end
  if type(data.text_output) ~= "string" then
    return chat.fail_stream(ctx, NAME .. " sent an event without a text_output string", "invalid_upstream_event")
  end
  if not ctx.id then
    ctx.id = "cmpl-" .. gw.uuid()
    ctx.created = math.floor(gw.time())
    ctx.model = type(data.model_name) == "string" and data.model_name or ctx.requested_model
  end
  return { { data = completion_object(ctx, data.text_output, ctx.model, ctx.created) } }
end

-- Triton's errors are {"error": "<message>"}: that message is the client's.
function provider.error(ctx, res)
  local body = res.body
  if type(body) == "table" and type(body.error) == "string" then return { message = body.error } end
  return nil
end

return provider
