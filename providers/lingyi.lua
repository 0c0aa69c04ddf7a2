-- providers/lingyi.lua — 01.AI / Lingyiwanwu Yi models (OpenAI-compatible)
-- Docs: https://platform.01.ai/docs ("highly compatible with OpenAI API")
-- Auth: Authorization: Bearer <key>
-- Endpoints: chat/completions.
-- Quirks: the host is Portkey's (China platform, api.lingyiwanwu.com); 01.AI's international
--   platform (platform.01.ai) may use another host — set it as x-portkey-custom-host.
-- Not verified: which host serves which region, and the international base URL (not shown in what
--   I read); models/embeddings not declared.
local compat = require("openai_compatible")

return compat.provider {
  name = "01.AI (Lingyi)",
  base_url = "https://api.lingyiwanwu.com/v1",
  endpoints = { "chat/completions" },
  docs = "https://platform.01.ai/docs",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "not verified: host per region (this is Portkey's China host)",
}
