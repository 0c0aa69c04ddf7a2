-- providers/segmind.lua — Segmind serverless API (v1, synchronous)
-- Reference: https://docs.segmind.com/home/api-reference (auth, base URL, error codes) and the
--   per-model API pages, e.g. https://www.segmind.com/models/sdxl1.0-txt2img/api,
--   https://segmind.com/models/segmind-vega/api, https://segmind.com/models/stable-diffusion-3.5-turbo-txt2img/api.
-- Verified there: POST https://api.segmind.com/v1/{model-slug} with a JSON body of that model's
--   own parameters (prompt, negative_prompt, seed, … — and size as img_width/img_height for SDXL,
--   width/height or aspect_ratio for others: the names differ per model); header x-api-key: <key>;
--   the answer is the image bytes ("RESPONSE image/jpeg"); "base64": true asks for base64 instead;
--   error statuses 401, 404, 405, 406 (not enough credits), 500. Not verified: the JSON shape of a
--   base64 answer and of error bodies (read defensively below); v1 is documented for models that
--   answer within 60 s, longer ones are on the asynchronous v2 API (not served here).
-- Auth: the client's key (Authorization: Bearer <key>) goes upstream as x-api-key (Segmind refuses
--   a Bearer key). Custom host replaces https://api.segmind.com/v1.
--
-- POST /v1/images/generations is translated:
--   model → the URL path (/v1/<model>; letters, digits, '.', '_', '-'); required.
--   prompt and every field that is not OpenAI's are the model's own parameters and go as they are
--   (the client writes img_width/img_height, negative_prompt, seed, … as the model page names them).
--   "base64": false is sent, so the answer is the image bytes, which become data[0].b64_json.
--   Refused (400 naming the field): size (Segmind's size fields differ per model; send the model's
--   own), n ≠ 1, samples / batch_size ≠ 1 (one image per answer), base64 (the gateway encodes the
--   image itself), response_format "url", style "vivid"/"natural" (another style value is the
--   model's own parameter, e.g. SDXL's "base"), and OpenAI's quality, background, moderation,
--   output_format, output_compression, user, stream (lib/openai_images.lua).
-- Every other /v1 path passes through: POST /v1/<model-slug> with the model's own body reaches
-- https://api.segmind.com/v1/<model-slug> untouched (any Segmind model, any answer).
local compat = require("openai_compatible")
local images = require("openai_images")
local validate = require("validate")

local NAME = "Segmind"
local spec = { name = NAME, base_url = "https://api.segmind.com/v1", auth_header = "x-api-key", auth_prefix = "" }

local provider = {
  name = NAME,
  base_url = spec.base_url,
  docs = "https://docs.segmind.com/home/api-reference",
  auth_scheme = "x-api-key: <key>",
  notes = "images/generations → POST /v1/{model} (image bytes → b64_json); model's own size fields; other paths passed through",
  endpoints = { ["images/generations"] = "translate", ["*"] = "passthrough" },
  decode_body = true,
}

provider.auth = compat.auth(spec)

function provider.prepare(ctx)
  compat.require_key(spec, ctx)
  local body = images.check(ctx, NAME, {
    own = { size = true, output_format = true, samples = true, batch_size = true, base64 = true, style = true },
    pass_unknown = true,
  })
  local null = gw.json.null
  local model = body.model
  if type(model) ~= "string" or not model:match("^[%w%._%-]+$") then
    validate.refuse("model", NAME .. ": 'model' must be a Segmind model slug (e.g. 'sdxl1.0-txt2img'; letters, " ..
      "digits, '.', '_' and '-').", "invalid_value")
  end
  if body.size ~= nil and body.size ~= null then
    validate.refuse("size", NAME .. " names the image size per model (img_width/img_height, width/height or " ..
      "aspect_ratio): send the field the model's API page lists instead of 'size'.", "unsupported_parameter")
  end
  if body.output_format ~= nil and body.output_format ~= null then
    validate.refuse("output_format", NAME .. " names the output format per model (e.g. image_format): send the " ..
      "field the model's API page lists instead of 'output_format'.", "unsupported_parameter")
  end
  for _, key in ipairs({ "samples", "batch_size" }) do
    local v = body[key]
    if v ~= nil and v ~= null and v ~= 1 then
      validate.refuse(key, NAME .. " answers one image per request: '" .. key .. "' must be 1.", "unsupported_parameter")
    end
  end
  -- Some Segmind models have a "style" of their own (SDXL: "base", …); OpenAI's two are refused.
  if body.style == "vivid" or body.style == "natural" then
    validate.refuse("style", NAME .. " has no OpenAI style (vivid/natural): 'style' is passed to the model as its " ..
      "own parameter, so send a value the model's API page lists.", "unsupported_parameter")
  end
  if body.base64 ~= nil and body.base64 ~= null then
    validate.refuse("base64", "Leave 'base64' out: the gateway returns the image as data[0].b64_json itself.",
      "unsupported_parameter")
  end

  local out = {}
  for key, value in pairs(body) do
    if key ~= "model" and key ~= "n" and key ~= "response_format" then out[key] = value end
  end
  out.base64 = false
  local headers = compat.auth_headers(spec, ctx.api_key)
  headers["content-type"] = "application/json"
  return {
    url = compat.join_url(compat.base_url(spec, ctx), "/" .. model, ""),
    method = "POST", headers = headers, body = validate.encode(out, body),
  }
end

function provider.response(ctx, res)
  local kind = (res.headers and res.headers["content-type"]) or ""
  if kind:match("^image/") and type(res.text) == "string" and #res.text > 0 then
    return { body = images.answer({ gw.base64.encode(res.text) }) }
  end
  -- Not verified: a JSON answer carrying the image as base64 ({"image": "…"}).
  if type(res.body) == "table" and type(res.body.image) == "string" then
    return { body = images.answer({ res.body.image }) }
  end
  error({ status = 502, type = "api_error", code = "invalid_upstream_response",
          message = NAME .. " answered without an image (content-type '" .. kind .. "')" })
end

-- Segmind's error bodies are not documented; a string "error" or "message" is its text.
function provider.error(ctx, res)
  local e = res.body
  if type(e) == "table" then
    if type(e.error) == "string" then return { message = e.error } end
    if type(e.message) == "string" then return { message = e.message } end
  end
  return nil
end

return provider
