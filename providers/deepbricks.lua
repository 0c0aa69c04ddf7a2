-- providers/deepbricks.lua — DeepBricks (OpenAI-compatible reseller)
-- Docs: no API reference of DeepBricks' own could be read. Sources: Portkey's provider (base
--   https://api.deepbricks.ai/v1, Bearer, chatComplete + imageGenerate) and many public clients that
--   call https://api.deepbricks.ai/v1/chat/completions with the OpenAI SDK.
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions, images/generations (Portkey's mapping).
-- Status: NOT verified live — no current page of DeepBricks was found; kept so Portkey configs move
--   over. Portkey also forwards Deepbricks-Organization / Deepbricks-Project headers; a client can send
--   them with x-portkey-forward-headers.
local compat = require("openai_compatible")

return compat.provider {
  name = "DeepBricks",
  base_url = "https://api.deepbricks.ai/v1",
  endpoints = { "chat/completions", "images/generations" },
  docs = "https://api.deepbricks.ai/v1",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "not verified live: no current DeepBricks docs found; endpoints from Portkey",
}
