-- providers/stability-ai.lua — Stability AI, Stable Image API (v2beta)
-- Reference: https://platform.stability.ai/docs/api-reference (Generate: Ultra, Core, SD3), read
--   through the OpenAPI description derived from it (api-evangelist/stability-ai
--   openapi/stability-ai-stable-image-generate-openapi.yml and its GenerateImageResponse /
--   GenerateSD3Request schemas) and the Stability Node SDK typings (stability-ai@0.7.0,
--   dist/v2beta/stable-image/generate.d.ts). platform.stability.ai itself was not reachable here.
-- Verified there: POST https://api.stability.ai/v2beta/stable-image/generate/{ultra|core|sd3},
--   multipart/form-data with prompt, negative_prompt, aspect_ratio (16:9 1:1 21:9 2:3 3:2 4:5 5:4
--   9:16 9:21), seed (0 … 4294967294), output_format (jpeg|png|webp; sd3: jpeg|png), style_preset
--   (core), model (sd3: sd3.5-large, sd3.5-large-turbo, sd3.5-medium, …), mode; Authorization:
--   Bearer <key>; "Accept: application/json" answers {image: <base64>, finish_reason:
--   SUCCESS|CONTENT_FILTERED, seed}. Not verified: the error body {id, name, errors: [...]} (from
--   Stability's published examples as quoted by third parties), sd3.5-flash as a model name.
-- Auth: Authorization: Bearer <key>. Custom host replaces https://api.stability.ai.
--
-- POST /v1/images/generations is translated:
--   model  stable-image-ultra → /generate/ultra, stable-image-core → /generate/core,
--          sd3*, sd3.5-* → /generate/sd3 with the form field model=<model>; required.
--   size   "WxH" → aspect_ratio when W:H reduces to one of Stability's ratios (1024x1024 → 1:1,
--          1536x1024 → 3:2, 1024x1536 → 2:3, …); any other size (1792x1024 is 7:4) is refused;
--          "auto" sends no ratio (Stability's default, 1:1). Stability picks the pixel count.
--   output_format → output_format; negative_prompt, seed, style_preset, aspect_ratio (Stability's
--          own fields) are sent as they are.
--   answer {image, finish_reason, seed} → {created, data: [{b64_json}]}; finish_reason
--          CONTENT_FILTERED → 400 content_policy_violation (no image is returned).
--   Refused (lib/openai_images.lua): n ≠ 1, response_format "url", quality, style, background,
--   moderation, output_compression, user, stream, and any other field.
-- The multipart boundary is "switchboard-" plus 40 hex digits of the SHA-256 of the field values:
-- it cannot occur in them (a value would have to contain a hash of itself), and the same request
-- gives the same bytes, which the golden fixtures check byte for byte.
-- Every other /v1 path passes through to https://api.stability.ai (e.g. POST
-- /v1/v2beta/stable-image/upscale/fast → https://api.stability.ai/v2beta/stable-image/upscale/fast).
local compat = require("openai_compatible")
local images = require("openai_images")
local validate = require("validate")

local NAME = "Stability AI"
local spec = { name = NAME, base_url = "https://api.stability.ai" }

local RATIOS = {
  ["1:1"] = true, ["16:9"] = true, ["9:16"] = true, ["21:9"] = true, ["9:21"] = true,
  ["2:3"] = true, ["3:2"] = true, ["4:5"] = true, ["5:4"] = true,
}

local provider = {
  name = NAME,
  base_url = spec.base_url,
  docs = "https://platform.stability.ai/docs/api-reference",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "images/generations → Stable Image v2beta (multipart); n=1, b64_json only; size → aspect_ratio",
  endpoints = { ["images/generations"] = "translate", ["*"] = "passthrough" },
  decode_body = true,
}

provider.auth = compat.auth(spec)

local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

-- OpenAI's size as one of Stability's aspect ratios, or nil for "auto".
local function aspect_ratio(size)
  if size == "auto" then return nil end
  local w, h = size:match("^(%d+)x(%d+)$")
  w, h = tonumber(w), tonumber(h)
  if not w or w == 0 or h == 0 then
    validate.refuse("size", "Invalid value for 'size': expected 'WIDTHxHEIGHT' (e.g. '1024x1024') or 'auto'.",
      "invalid_value")
  end
  local d = gcd(w, h)
  local ratio = (w // d) .. ":" .. (h // d)
  if not RATIOS[ratio] then
    validate.refuse("size", NAME .. " has no aspect ratio " .. ratio .. " for size '" .. size ..
      "': use a size with ratio 1:1, 16:9, 9:16, 21:9, 9:21, 2:3, 3:2, 4:5 or 5:4 (e.g. 1024x1024, " ..
      "1536x1024, 1024x1536).", "unsupported_parameter")
  end
  return ratio
end

-- The Stable Image endpoint for a model, and whether the form names the model.
local function endpoint_of(model)
  if model == "stable-image-ultra" then return "ultra", false end
  if model == "stable-image-core" then return "core", false end
  if type(model) == "string" and model:match("^sd3[%w%.%-]*$") then return "sd3", true end
  validate.refuse("model", NAME .. ": 'model' must be stable-image-ultra, stable-image-core or an SD3 model " ..
    "(sd3.5-large, sd3.5-large-turbo, sd3.5-medium, …); got " ..
    (type(model) == "string" and ("'" .. model .. "'") or "none") .. ".", "invalid_value")
end

local function multipart(fields)
  local values = {}
  for i, field in ipairs(fields) do values[i] = field[2] end
  local boundary = "switchboard-" .. gw.hex(gw.sha256(table.concat(values, "\0"))):sub(1, 40)
  local out = {}
  for _, field in ipairs(fields) do
    out[#out + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. field[1] ..
      "\"\r\n\r\n" .. field[2] .. "\r\n"
  end
  out[#out + 1] = "--" .. boundary .. "--\r\n"
  return table.concat(out), boundary
end

function provider.prepare(ctx)
  compat.require_key(spec, ctx)
  local body = images.check(ctx, NAME, {
    own = { size = true, output_format = true },
    allowed = { negative_prompt = "string", seed = "integer", style_preset = "string", aspect_ratio = "string" },
  })
  local path, names_model = endpoint_of(body.model)
  local null = gw.json.null

  local ratio = body.aspect_ratio ~= null and body.aspect_ratio or nil
  if body.size ~= nil and body.size ~= null then
    if type(body.size) ~= "string" then validate.wrong("size", "a string", body.size) end
    if ratio then
      validate.refuse("size", "Send either 'size' or 'aspect_ratio', not both.", "invalid_value")
    end
    ratio = aspect_ratio(body.size)
  end
  local output_format = body.output_format ~= null and body.output_format or nil
  if output_format ~= nil and output_format ~= "png" and output_format ~= "jpeg" and output_format ~= "webp" then
    validate.refuse("output_format", "Invalid value for 'output_format': expected 'png', 'jpeg' or 'webp'.",
      "invalid_value")
  end
  local seed = body.seed ~= null and body.seed or nil
  if seed and (seed < 0 or seed > 4294967294) then
    validate.refuse("seed", "Invalid value for 'seed': expected 0 … 4294967294.", "invalid_value")
  end

  local fields = { { "prompt", body.prompt } }
  if names_model then fields[#fields + 1] = { "model", body.model } end
  if ratio then fields[#fields + 1] = { "aspect_ratio", ratio } end
  if body.negative_prompt and body.negative_prompt ~= null then
    fields[#fields + 1] = { "negative_prompt", body.negative_prompt }
  end
  if seed then fields[#fields + 1] = { "seed", tostring(seed) } end
  if body.style_preset and body.style_preset ~= null then
    fields[#fields + 1] = { "style_preset", body.style_preset }
  end
  if output_format then fields[#fields + 1] = { "output_format", output_format } end

  local form, boundary = multipart(fields)
  local headers = compat.auth_headers(spec, ctx.api_key)
  headers["accept"] = "application/json"
  headers["content-type"] = "multipart/form-data; boundary=" .. boundary
  return {
    url = compat.join_url(compat.base_url(spec, ctx), "/v2beta/stable-image/generate/" .. path, ""),
    method = "POST", headers = headers, body = form,
  }
end

function provider.response(ctx, res)
  local answer = res.body
  if type(answer) == "table" and answer.finish_reason == "CONTENT_FILTERED" then
    error({ status = 400, type = "invalid_request_error", code = "content_policy_violation",
            message = NAME .. " filtered the generated image (finish_reason CONTENT_FILTERED); no image was returned." })
  end
  if type(answer) ~= "table" or type(answer.image) ~= "string" then
    error({ status = 502, type = "api_error", code = "invalid_upstream_response",
            message = NAME .. " answered without an image" })
  end
  return { body = images.answer({ answer.image }) }
end

-- Stability's errors: {"id": "…", "name": "bad_request", "errors": ["…", …]}.
function provider.error(ctx, res)
  local e = res.body
  if type(e) == "table" and type(e.errors) == "table" then
    local parts = {}
    for _, item in ipairs(e.errors) do
      if type(item) == "string" then parts[#parts + 1] = item end
    end
    if #parts > 0 then
      return { message = table.concat(parts, "; "),
               code = type(e.name) == "string" and e.name or nil }
    end
  end
  return nil
end

return provider
