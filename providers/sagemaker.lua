-- Amazon SageMaker AI Runtime — the endpoints a user deployed, invoked with their own body.
-- Reference: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
--   (and API_runtime_InvokeEndpointWithResponseStream.html, API_runtime_InvokeEndpointAsync.html;
--   the operations, headers, signing name "sagemaker" and host runtime.sagemaker.{region}.amazonaws.com
--   were read from the AWS reference and the AWS SDKs' service model runtime.sagemaker-2017-05-13).
--
-- What it serves: the SageMaker Runtime API itself, signed. The client speaks SageMaker's API:
--   POST /v1/endpoints/{EndpointName}/invocations                  → InvokeEndpoint
--   POST /v1/endpoints/{EndpointName}/invocations-response-stream  → InvokeEndpointWithResponseStream
--   POST /v1/endpoints/{EndpointName}/async-invocations            → InvokeEndpointAsync
-- go to https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{EndpointName}/… with the body
-- the client sent, signed with AWS Signature V4 (lib/aws_sigv4.lua, service "sagemaker"). The
-- answer — the container's bytes, or the AWS event stream of the streaming operation — is relayed
-- as it is, errors included. Any other path or method is refused with 400.
--
-- Not served: /v1/chat/completions (and the other OpenAI endpoints). What a SageMaker endpoint
-- accepts is decided by the container the user deployed (TGI, vLLM, LMI, a custom one), not by
-- SageMaker; its API reference defines no chat shape. A client whose container takes OpenAI's chat
-- body sends it to /v1/endpoints/{name}/invocations and gets the container's answer as it is. The
-- gateway refuses /v1/chat/completions to sagemaker with 400 unsupported_endpoint.
--
-- The body is signed, so it is read. A JSON body (Content-Type application/json) is decoded and
-- sent as its JSON encoding (the same value); any other body (CSV, an image) arrives as
-- ctx.body_text and is signed and sent byte for byte with the client's Content-Type.
--
-- Settings (x-portkey-…): aws-access-key-id, aws-secret-access-key (required), aws-session-token,
-- aws-region (default us-east-1). The optional SageMaker headers, as Portkey names them:
-- x-portkey-amzn-sagemaker-custom-attributes, -target-model, -target-variant,
-- -target-container-hostname, -inference-id, -enable-explanations, -inference-component,
-- -session-id become X-Amzn-SageMaker-Custom-Attributes, … and are signed. The same headers set by
-- the client itself (X-Amzn-SageMaker-…) are forwarded too (client_headers); the script cannot see
-- them, so they travel unsigned (AWS checks the headers the signature names: host, x-amz-date,
-- x-amz-security-token) — a setting wins over the client's header. Portkey's
-- x-portkey-amzn-sagemaker-model-name has no SageMaker Runtime header and is refused.
-- Not verified live (no AWS account here): the whole exchange; the signature is lib/aws_sigv4.lua's,
-- which bedrock uses.
local compat = require("openai_compatible")
local sigv4 = require("aws_sigv4")
local validate = require("validate")
local upstream_errors = require("upstream_errors")

local NAME = "Amazon SageMaker"

-- Setting → SageMaker Runtime header (the reference's request syntax).
local HEADER_SETTINGS = {
  { "amzn_sagemaker_custom_attributes", "x-amzn-sagemaker-custom-attributes" },
  { "amzn_sagemaker_target_model", "x-amzn-sagemaker-target-model" },
  { "amzn_sagemaker_target_variant", "x-amzn-sagemaker-target-variant" },
  { "amzn_sagemaker_target_container_hostname", "x-amzn-sagemaker-target-container-hostname" },
  { "amzn_sagemaker_inference_id", "x-amzn-sagemaker-inference-id" },
  { "amzn_sagemaker_enable_explanations", "x-amzn-sagemaker-enable-explanations" },
  { "amzn_sagemaker_inference_component", "x-amzn-sagemaker-inference-component" },
  { "amzn_sagemaker_session_id", "x-amzn-sagemaker-session-id" },
}

local client_headers = {}
for i, pair in ipairs(HEADER_SETTINGS) do client_headers[i] = pair[2] end

local provider = {
  name = NAME,
  docs = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html",
  auth_scheme = "AWS SigV4 (service sagemaker)",
  notes = "SageMaker Runtime API as is, signed: POST /v1/endpoints/{name}/invocations (also -response-stream, async-invocations); any body (JSON re-encoded, others byte for byte); no OpenAI endpoints (the container decides the body); x-portkey-aws-* settings, region default us-east-1; not verified live",
  -- Every path is SageMaker's own API, built (and signed) by prepare.
  endpoints = { ["*"] = "native" },
  decode_body = true,  -- the payload is signed, so the script needs it
  client_headers = client_headers,
  -- The region is in the host (runtime.sagemaker.<region>.amazonaws.com).
  host_settings = { "aws_region" },
  credential_settings = { "aws_access_key_id", "aws_secret_access_key", "aws_session_token" },
}

local OPERATIONS = { invocations = true, ["invocations-response-stream"] = true, ["async-invocations"] = true }

function provider.prepare(ctx)
  local s = ctx.settings
  local access_key, secret_key = s.aws_access_key_id, s.aws_secret_access_key
  if not access_key or not secret_key then
    error({ status = 401, type = "authentication_error", code = "missing_aws_credentials",
            message = NAME .. " needs AWS credentials: x-portkey-aws-access-key-id and x-portkey-aws-secret-access-key" })
  end
  if s.amzn_sagemaker_model_name then
    error(compat.bad_request("x-portkey-amzn-sagemaker-model-name is not a SageMaker Runtime header; name the endpoint in the path (/v1/endpoints/{name}/invocations) and a model of a multi-model endpoint with x-portkey-amzn-sagemaker-target-model",
      nil, "unsupported_parameter"))
  end
  local region = s.aws_region or "us-east-1"
  if not region:match("^[%w%-]+$") then error(compat.bad_request("x-portkey-aws-region is not a region name")) end

  local endpoint_name, operation = ctx.path:match("^/endpoints/([^/]+)/([%w%-]+)$")
  if not endpoint_name or not OPERATIONS[operation] then
    error(compat.bad_request(NAME .. " serves POST /v1/endpoints/{EndpointName}/invocations, " ..
      "/invocations-response-stream and /async-invocations (the SageMaker Runtime API); not /v1" .. ctx.path,
      nil, "unsupported_endpoint"))
  end
  -- EndpointName pattern from the reference: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*, at most 63 characters.
  if #endpoint_name > 63 or not endpoint_name:match("^%w[%w%-]*$") or endpoint_name:sub(-1) == "-" then
    error(compat.bad_request("'" .. endpoint_name .. "' is not a SageMaker endpoint name (letters, digits and hyphens, at most 63)"))
  end
  if ctx.method ~= "POST" then
    error(compat.bad_request(NAME .. " endpoints are invoked with POST, not " .. ctx.method, nil, "unsupported_method"))
  end

  local payload, json = "", true
  if ctx.body ~= nil then
    payload = validate.encode(ctx.body, ctx.body)
  elseif ctx.body_text ~= nil then
    payload, json = ctx.body_text, false
  end

  local base = ctx.custom_host and ctx.custom_host:gsub("/+$", "") or ("https://runtime.sagemaker." .. region .. ".amazonaws.com")
  local scheme_host, prefix = base:match("^(https?://[^/]+)(.*)$")
  if not scheme_host then error(compat.bad_request("x-portkey-custom-host is not an http(s) URL")) end
  local host = scheme_host:gsub("^https?://", "")
  local path = prefix .. "/endpoints/" .. endpoint_name .. "/" .. operation
  local extra = {}
  for _, pair in ipairs(HEADER_SETTINGS) do
    local value = s[pair[1]]
    if value then extra[pair[2]] = value end
  end
  local headers = sigv4.sign {
    method = "POST", host = host, path = path,
    -- SigV4 encodes each path segment once more (every service but S3); the name needs no encoding.
    canonical_path = sigv4.uri_encode(path, true), query = ctx.query, payload = payload,
    region = region, service = "sagemaker", access_key = access_key, secret_key = secret_key,
    session_token = s.aws_session_token, extra_headers = extra,
  }
  if json then headers["content-type"] = "application/json" end  -- otherwise the client's goes on
  return { url = compat.join_url(scheme_host .. path, "", ctx.query), method = "POST", headers = headers, body = payload }
end

-- Throttling and unavailable endpoints (x-amzn-errortype) are worth another try.
function provider.error(ctx, res) return upstream_errors.aws(res) end

return provider
