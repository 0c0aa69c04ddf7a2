-- Amazon Bedrock (https://docs.aws.amazon.com/bedrock/latest/APIReference/welcome.html): chat
-- completions through Converse / ConverseStream, translated by lib/chat_to_bedrock_converse.lua;
-- /v1/messages for Claude models through InvokeModel / InvokeModelWithResponseStream, the body as
-- sent; /v1/messages/count_tokens for Claude models through CountTokens (the Messages body as an
-- InvokeModel body). The host decodes the binary event streams into events. Requests are signed with AWS
-- Signature V4 (lib/aws_sigv4.lua). Settings (x-portkey-aws-*): aws_access_key_id,
-- aws_secret_access_key, aws_session_token (optional), aws_region (default us-east-1).
--
-- /v1/rerank goes to the Agent Runtime's Rerank (POST https://bedrock-agent-runtime.{region}.amazonaws.com/rerank,
-- signed for service `bedrock`), translated from and to the gateway's rerank contract (Cohere's
-- shape, lib/rerank.lua): query -> queries[{type TEXT, textQuery {text}}], documents ->
-- sources[{type INLINE, inlineDocumentSource {type TEXT, textDocument {text}}}], model ->
-- rerankingConfiguration.bedrockRerankingConfiguration.modelConfiguration.modelArn
-- (arn:aws:bedrock:{region}::foundation-model/{model}, or the model as is when it is an ARN),
-- top_n -> numberOfResults (all documents when absent); answer results[{index, relevanceScore}] ->
-- results[{index, relevance_score}]. Refused: max_tokens_per_doc (Rerank has no such field; a
-- model's own fields would go in additionalModelRequestFields, not verified per model). A
-- `nextToken` in the answer (more results than one answer holds) is a 502 rather than a silently
-- shortened list. Verified with `search`: the request nesting from AWS's JavaScript SDK v3
-- RerankCommand reference, RerankResult (index, relevanceScore, document) from AWS's API
-- reference, POST /rerank from the SDK's serializer; the signing name `bedrock` for the agent
-- runtime host from third-party clients only.
local chat = require("openai_chat")
local converse = require("chat_to_bedrock_converse")
local sigv4 = require("aws_sigv4")
local validate = require("validate")
local upstream_errors = require("upstream_errors")
local rerank = require("rerank")

local json = gw.json

local NAME = "Amazon Bedrock"

local provider = {
  name = NAME,
  semconv_name = "aws.bedrock",  -- gen_ai.provider.name (OpenTelemetry GenAI conventions)
  -- Claude models take /v1/messages through InvokeModel (its binary stream is re-framed as
  -- server-sent events here, so "translate"); for others prepare asks for the converter.
  -- Anthropic's count_tokens: Bedrock's CountTokens for Claude models (others are refused by name).
  endpoints = { ["chat/completions"] = "translate", messages = "translate", ["messages/count_tokens"] = "translate",
                rerank = "translate" },
  docs = "https://docs.aws.amazon.com/bedrock/latest/APIReference/welcome.html",
  auth_scheme = "AWS SigV4 (service bedrock)",
  notes = "x-portkey-aws-access-key-id / -secret-access-key / -region; Converse for chat, InvokeModel for Claude messages, Agent Runtime Rerank for rerank",
  decode_body = true,
  client_headers = { "anthropic-beta" },
  -- The region is in the host (bedrock-runtime.<region>.amazonaws.com).
  host_settings = { "aws_region" },
  -- Written in a named config, these are a key the gateway holds (kept with the operator's host).
  credential_settings = { "aws_access_key_id", "aws_secret_access_key", "aws_session_token" },
}

-- CountTokens (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html)
-- for Anthropic's count_tokens: {"input": {"invokeModel": {"body": <base64 of the InvokeModel
-- body>}}}, the body being the Messages request as /v1/messages sends it (anthropic_version, no
-- model). InvokeModel requires max_tokens, which count_tokens does not take and which counts no
-- input: when absent it is 1024, above a thinking budget when there is one. CountTokens wants the
-- foundation model's id: a cross-region inference profile (us.anthropic.claude-…, eu., apac.,
-- global., …) is counted on the model it routes to, whose tokenizer it shares.
local function count_tokens_request(body)
  local model = body.model
  if not model:find("anthropic%.claude") then
    error(chat.bad_request(NAME .. " counts tokens for Claude models only (CountTokens with an InvokeModel body); '" ..
      model .. "' is not a Claude model id", "model"))
  end
  if body.stream ~= nil and body.stream ~= json.null then
    error(chat.bad_request("count_tokens does not stream: stream is not a count_tokens field", "stream"))
  end
  validate.messages_request(body)  -- the body is re-encoded: a value JSON cannot carry is refused here
  local invoke = {}
  for key, value in pairs(body) do
    if key ~= "model" and key ~= "stream" then invoke[key] = value end
  end
  invoke.anthropic_version = "bedrock-2023-05-31"
  if invoke.max_tokens == nil then
    local thinking = type(body.thinking) == "table" and body.thinking or {}
    local budget = math.type(thinking.budget_tokens) == "integer" and thinking.budget_tokens or 0
    invoke.max_tokens = budget + 1024
  end
  local foundation = model:match("^[%l%-]+%.(anthropic%.claude.+)$") or model
  local payload = json.encode({ input = { invokeModel = { body = gw.base64.encode(json.encode(invoke)) } } })
  return payload, foundation
end

local RERANK_REFUSED = {
  max_tokens_per_doc = "Bedrock's Rerank has no per-document token limit",
}

-- Rerank (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_Rerank.html)
-- on the Agent Runtime host, signed like the others.
local function rerank_request(ctx, body, region, access_key, secret_key)
  local req = rerank.read(body, NAME, RERANK_REFUSED)
  ctx.rerank = req
  local sources = json.array()
  for i, text in ipairs(req.texts) do
    sources[i] = { type = "INLINE", inlineDocumentSource = { type = "TEXT", textDocument = { text = text } } }
  end
  local arn = req.model:match("^arn:") and req.model or ("arn:aws:bedrock:" .. region .. "::foundation-model/" .. req.model)
  local payload = validate.encode({
    queries = json.array({ { type = "TEXT", textQuery = { text = req.query } } }),
    sources = sources,
    rerankingConfiguration = {
      type = "BEDROCK_RERANKING_MODEL",
      bedrockRerankingConfiguration = { numberOfResults = req.top_n or #req.texts, modelConfiguration = { modelArn = arn } },
    },
  }, body)
  local base = ctx.custom_host and ctx.custom_host:gsub("/+$", "") or ("https://bedrock-agent-runtime." .. region .. ".amazonaws.com")
  local scheme_host, prefix = base:match("^(https?://[^/]+)(.*)$")
  local path = prefix .. "/rerank"
  local headers = sigv4.sign {
    method = "POST", host = scheme_host:gsub("^https?://", ""), path = path,
    canonical_path = sigv4.uri_encode(prefix, true) .. "/rerank", query = "", payload = payload,
    region = region, service = "bedrock", access_key = access_key, secret_key = secret_key,
    session_token = ctx.settings.aws_session_token,
  }
  headers["content-type"] = "application/json"
  headers.accept = "application/json"
  return { url = scheme_host .. path, method = "POST", headers = headers, body = payload }
end

function provider.prepare(ctx)
  local s = ctx.settings
  local access_key, secret_key = s.aws_access_key_id, s.aws_secret_access_key
  if not access_key or not secret_key then
    error({ status = 401, type = "authentication_error", code = "missing_aws_credentials",
            message = NAME .. " needs AWS credentials: x-portkey-aws-access-key-id and x-portkey-aws-secret-access-key" })
  end
  local region = s.aws_region or "us-east-1"
  if not region:match("^[%w%-]+$") then error(chat.bad_request("x-portkey-aws-region is not a region name")) end
  local body = ctx.body
  if type(body) ~= "table" then error(chat.bad_request("the request body must be a JSON object")) end
  if type(body.model) ~= "string" or body.model == "" then
    error(chat.bad_request("model must name a Bedrock model id, inference profile or ARN", "model"))
  end
  if ctx.endpoint == "rerank" then return rerank_request(ctx, body, region, access_key, secret_key) end

  local base = ctx.custom_host and ctx.custom_host:gsub("/+$", "") or ("https://bedrock-runtime." .. region .. ".amazonaws.com")
  local scheme_host, prefix = base:match("^(https?://[^/]+)(.*)$")
  local host = scheme_host:gsub("^https?://", "")
  local action = body.stream == true and "/converse-stream" or "/converse"
  local payload
  local model_id = body.model
  if ctx.endpoint == "messages/count_tokens" then
    payload, model_id = count_tokens_request(body)
    action = "/count-tokens"
    ctx.count_tokens = true
  elseif ctx.endpoint == "messages" then
    -- Anthropic's dialect: Claude models take it through InvokeModel (the Messages body with
    -- Bedrock's anthropic_version); other models go through the gateway's translation.
    if not body.model:find("anthropic%.claude") then return { via = "chat/completions" } end
    validate.messages_request(body)  -- the body is re-encoded: a value JSON cannot carry is refused here
    ctx.messages = true
    ctx.streaming = body.stream == true
    action = ctx.streaming and "/invoke-with-response-stream" or "/invoke"
    local invoke = {}
    for key, value in pairs(body) do
      if key ~= "model" and key ~= "stream" then invoke[key] = value end
    end
    invoke.anthropic_version = "bedrock-2023-05-31"
    payload = json.encode(invoke)
  end
  local model = sigv4.uri_encode(model_id)
  -- SigV4 encodes each path segment once more in the canonical request (every service but S3).
  local path = prefix .. "/model/" .. model .. action
  local canonical_path = sigv4.uri_encode(prefix, true) .. "/model/" .. sigv4.uri_encode(model) .. action

  if not payload then
    local request = converse.request(ctx, body)
    if ctx.fetch_list then return { fetch = ctx.fetch_list } end
    payload = validate.encode(request, body)
  end
  local headers = sigv4.sign {
    method = "POST", host = host, path = path, canonical_path = canonical_path, query = "", payload = payload,
    region = region, service = "bedrock", access_key = access_key, secret_key = secret_key,
    session_token = s.aws_session_token,
  }
  headers["content-type"] = "application/json"
  headers.accept = body.stream == true and "application/vnd.amazon.eventstream" or "application/json"
  return { url = scheme_host .. path, method = "POST", headers = headers, body = payload }
end

function provider.response(ctx, res)
  if ctx.rerank then
    local list, r = rerank.list(res, "results", NAME)
    if r.nextToken ~= nil and r.nextToken ~= json.null then
      error(chat.upstream_error(NAME .. "'s Rerank answered part of the results (nextToken); paging is not supported"))
    end
    local results = {}
    for i, item in ipairs(list) do
      results[i] = { index = type(item) == "table" and item.index, score = type(item) == "table" and item.relevanceScore }
    end
    return rerank.answer(ctx.rerank, results, { id = res.headers and res.headers["x-amzn-requestid"] }, NAME)
  end
  if ctx.messages then return { body = res.text } end  -- already an Anthropic message
  if ctx.count_tokens then
    local count = type(res.body) == "table" and res.body.inputTokens
    if math.type(count) ~= "integer" then
      error(chat.upstream_error(NAME .. "'s CountTokens answered 2xx without inputTokens"))
    end
    return { body = { input_tokens = count } }
  end
  return converse.response(ctx, res)
end

-- InvokeModelWithResponseStream for /v1/messages: each `chunk` event carries one Anthropic
-- streaming event as base64 JSON; they go to the client as Anthropic's server-sent events, and
-- failures as Anthropic's error event. The lifecycle (an end before message_stop, nothing after a
-- failure) is openai_chat's.
local function anthropic_error(message, kind)
  return { event = "error", data = { type = "error", error = { type = kind or "api_error", message = message } } }
end

local function invoke_event(ctx, event)
  local name = event.event or ""
  if name:sub(1, 10) == "exception:" then
    local message = type(event.data) == "table" and event.data.message or event.text
    local kind = name:sub(11):lower():find("throttl") and "rate_limit_error" or "api_error"
    return chat.fail_with(ctx, anthropic_error(tostring(message), kind))
  end
  if name ~= "chunk" or type(event.data) ~= "table" or type(event.data.bytes) ~= "string" then return nil end
  local raw = gw.base64.decode(event.data.bytes)
  local ok, inner = pcall(json.decode, raw or "")
  if not ok or type(inner) ~= "table" then
    return chat.fail_with(ctx, anthropic_error(NAME .. " sent a chunk that is not an Anthropic event"))
  end
  local out = { { event = inner.type, data = inner } }
  if inner.type == "message_stop" then return chat.close_with(ctx, out) end
  return out
end

local invoke_stream = chat.stream_translator {
  name = NAME, terminal = "message_stop", event = invoke_event, error_event = anthropic_error,
}

function provider.stream(ctx, event)
  if ctx.messages then return invoke_stream(ctx, event) end
  return converse.stream(ctx, event)
end

-- Throttling, unavailable and not-yet-ready models (x-amzn-errortype) are worth another try.
function provider.error(ctx, res) return upstream_errors.aws(res) end

return provider
