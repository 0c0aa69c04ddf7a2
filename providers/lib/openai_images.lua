-- Shared checks for providers that translate OpenAI's POST /v1/images/generations
-- (https://platform.openai.com/docs/api-reference/images/create) to another image API
-- (stability-ai, segmind), and the OpenAI answer they build: {created, data: [{b64_json}]}.
--
--   local images = require("openai_images")
--   local body = images.check(ctx, "Stability AI", { allowed = { negative_prompt = "string", … } })
--   return { body = images.answer({ image_b64 }) }
--
-- What every such provider refuses (400 naming the field), because the target API cannot honour it
-- and would otherwise ignore it:
--   n other than 1 (these APIs make one image per request; the gateway sends one request per
--   client request), response_format "url" (they answer bytes or base64, and the gateway keeps no
--   image store to serve a URL from), stream / partial_images (no streamed images), and OpenAI's
--   own knobs quality, style, background, moderation, output_compression, input_fidelity, user.
-- Absent response_format means b64_json (the only form these providers can give).
local validate = require("validate")

local M = {}

local null = gw.json.null
local is_array = gw.json.is_array
local refuse = validate.refuse

-- OpenAI fields with no counterpart at these providers, with why.
local OPENAI_ONLY = {
  quality = "has no quality setting",
  style = "has no OpenAI style (vivid/natural)",
  background = "cannot choose a transparent or opaque background",
  moderation = "has no moderation level setting",
  output_compression = "has no output_compression setting",
  input_fidelity = "has no input_fidelity setting",
  user = "has no end-user identifier field",
  stream = "cannot stream images",
  partial_images = "cannot stream partial images",
}

local KINDS = {
  string = function(v) return type(v) == "string" end,
  integer = function(v) return math.type(v) == "integer" end,
  number = function(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end,
  boolean = function(v) return type(v) == "boolean" end,
  any = function() return true end,
}
local EXPECTED = { string = "a string", integer = "an integer", number = "a number", boolean = "a boolean" }

-- Checks the client's images/generations body and returns it. `opts.allowed` maps the provider's
-- own extra fields to their JSON kind ("string", "integer", "number", "boolean", "any");
-- `opts.own` lists OpenAI field names the provider maps itself (e.g. size, output_format);
-- with `opts.pass_unknown` other fields are the provider's own and pass (segmind's per-model
-- parameters), otherwise they are refused.
function M.check(ctx, name, opts)
  local body = ctx.body
  if type(body) ~= "table" or is_array(body) then
    refuse(nil, "the request body must be a JSON object", "invalid_type")
  end
  if type(body.prompt) ~= "string" or body.prompt == "" then
    refuse("prompt", "'prompt' is required and must be a non-empty string.", "missing_required_parameter")
  end
  local n = body.n
  if n ~= nil and n ~= null then
    if math.type(n) ~= "integer" then validate.wrong("n", "an integer", n) end
    if n ~= 1 then
      refuse("n", name .. " makes one image per request: 'n' must be 1 (send " .. n ..
        " requests instead).", "unsupported_parameter")
    end
  end
  local format_ = body.response_format
  if format_ ~= nil and format_ ~= null then
    if format_ == "url" then
      refuse("response_format", name .. " returns the image itself, not a URL: use response_format " ..
        "'b64_json' (or leave it out).", "unsupported_parameter")
    elseif format_ ~= "b64_json" then
      refuse("response_format", "Invalid value for 'response_format': expected 'b64_json'.", "invalid_value")
    end
  end
  local allowed = opts.allowed or {}
  local own = opts.own or {}
  for key, value in pairs(body) do
    if key == "prompt" or key == "model" or key == "n" or key == "response_format" or own[key] then
      -- checked here or by the provider
    elseif OPENAI_ONLY[key] and value ~= null then
      refuse(key, name .. " " .. OPENAI_ONLY[key] .. ": '" .. key .. "' is not supported.", "unsupported_parameter")
    elseif allowed[key] then
      if value ~= null and not KINDS[allowed[key]](value) then
        validate.wrong(key, EXPECTED[allowed[key]] or "a value", value)
      end
    elseif not opts.pass_unknown and value ~= null then
      refuse(key, name .. " does not support '" .. key .. "' on /v1/images/generations.", "unsupported_parameter")
    end
  end
  return body
end

-- OpenAI's images answer for a list of base64 images.
function M.answer(images)
  local data = {}
  for i, b64 in ipairs(images) do data[i] = { b64_json = b64 } end
  return { created = math.floor(gw.time()), data = gw.json.array(data) }
end

return M
