-- providers/recraft-ai.lua — Recraft API (OpenAI-shaped image generation)
-- Reference: https://www.recraft.ai/docs/api-reference/endpoints.md (Generate image),
--   https://www.recraft.ai/docs/api-reference/usage (parameter table),
--   https://www.recraft.ai/docs/api-reference/clients (OpenAI library compatibility),
--   https://www.recraft.ai/docs/api-reference/image-inputs-and-results (response_format).
-- Verified there: base URL https://external.api.recraft.ai/v1, Authorization: Bearer <token>;
--   POST /images/generations with prompt (required), model, n (1 … 6), size ("WxH" or "w:h"),
--   style, substyle, style_id, negative_prompt, controls, text_layout, response_format url |
--   b64_json (| multipart: a multipart/form-data answer, relayed as it is); the answer is OpenAI's
--   {created, data: [{url | b64_json, image_id, revised_prompt?}]} plus "credits". Recraft says
--   "Parameters without a Recraft meaning are ignored" — so the gateway refuses OpenAI's own
--   fields instead of letting Recraft ignore them: quality, background, moderation, output_format,
--   output_compression, input_fidelity, user, stream, partial_images, and style "vivid" / "natural"
--   (OpenAI's dall-e-3 styles; Recraft's `style` is its own list: realistic_image,
--   digital_illustration, …). Image URLs expire after about 24 hours.
-- Not served as OpenAI endpoints: /v1/images/edits and /v1/images/variations (Recraft's image
--   editing is imageToImage, inpaint, replaceBackground, … with other fields) are refused with
--   unsupported_endpoint; Recraft's own paths (/v1/images/imageToImage, /v1/images/vectorize,
--   /v1/styles, …) pass through natively, body untouched.
local compat = require("openai_compatible")
local validate = require("validate")

local NAME = "Recraft"

local provider = compat.provider {
  name = NAME,
  base_url = "https://external.api.recraft.ai/v1",
  docs = "https://www.recraft.ai/docs/api-reference/endpoints",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "images/generations only (OpenAI-shaped); OpenAI-only fields refused; Recraft's other paths native",
  endpoints = { "images/generations" },
}
provider.decode_body = true
-- Recraft's own paths go as they are ("passthrough": no prepare, so no JSON decode of their
-- multipart bodies, which decode_body would attempt on a "native" path).
provider.endpoints["*"] = "passthrough"

-- OpenAI fields Recraft has no meaning for (it would ignore them).
local OPENAI_ONLY = {
  quality = true, background = true, moderation = true, output_format = true, output_compression = true,
  input_fidelity = true, user = true, stream = true, partial_images = true,
}

local default_prepare = provider.prepare
function provider.prepare(ctx)
  local request = default_prepare(ctx)
  if ctx.endpoint == "images/generations" then
    local body = ctx.body
    if type(body) ~= "table" or gw.json.is_array(body) then
      validate.refuse(nil, "the request body must be a JSON object", "invalid_type")
    end
    local null = gw.json.null
    for key, value in pairs(body) do
      if OPENAI_ONLY[key] and value ~= null then
        validate.refuse(key, NAME .. " does not support OpenAI's '" .. key .. "' (it would be ignored).",
          "unsupported_parameter")
      end
    end
    if body.style == "vivid" or body.style == "natural" then
      validate.refuse("style", NAME .. " has no OpenAI style '" .. body.style .. "': its styles are its own " ..
        "(realistic_image, digital_illustration, vector_illustration, icon, …).", "unsupported_parameter")
    end
  end
  return request  -- the client's bytes go upstream unchanged
end

return provider
