-- How providers' own error answers read: which ones are worth retrying (or falling back on).
-- Provider scripts call these from their `error(ctx, res)` hook (providers/README.md, "Errors");
-- the gateway already retries 408, 409, 425, 429, 500, 502, 503 and 504 by status, so these add
-- what only the provider's own codes say. `res` is `{status, headers, body (decoded JSON), text}`.
local M = {}

local function error_object(res)
  local body = res.body
  return type(body) == "table" and type(body.error) == "table" and body.error or nil
end

-- Anthropic (its API, Claude on Vertex rawPredict, Bedrock InvokeModel): 529 and the
-- `overloaded_error` / `rate_limit_error` types (https://docs.anthropic.com/en/api/errors).
function M.anthropic(res)
  local e = error_object(res)
  local kind = e and e.type
  if res.status == 529 or kind == "overloaded_error" or kind == "rate_limit_error" then
    return { retryable = true }
  end
  return nil
end

-- Google APIs (Gemini, Vertex AI): the google.rpc status names for quota and availability
-- (https://ai.google.dev/gemini-api/docs/troubleshooting).
local GOOGLE_RETRYABLE = { RESOURCE_EXHAUSTED = true, UNAVAILABLE = true }
function M.google(res)
  local e = error_object(res)
  if e and GOOGLE_RETRYABLE[e.status] then return { retryable = true } end
  return nil
end

-- AWS (Bedrock): the x-amzn-errortype header ("ThrottlingException:http://…") or the exception
-- name in the body's message.
local AWS_RETRYABLE = { ThrottlingException = true, ServiceUnavailableException = true, ModelNotReadyException = true }
function M.aws(res)
  local header = res.headers["x-amzn-errortype"]
  local name = header and header:match("^[%a]+")
  if name and AWS_RETRYABLE[name] then return { retryable = true } end
  local text = res.text or ""
  for exception in pairs(AWS_RETRYABLE) do
    if text:find(exception, 1, true) then return { retryable = true } end
  end
  return nil
end

return M
