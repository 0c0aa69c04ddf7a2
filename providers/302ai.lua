-- providers/302ai.lua — 302.AI (OpenAI-compatible aggregator)
-- Docs: https://302ai-en.apifox.cn/258254135e0 (302.AI's own apifox reference: POST
--   https://api.302.ai/v1/chat/completions, Authorization: Bearer sk-…);
--   https://302ai-en.apifox.cn/207705281e0 (POST /v1/embeddings);
--   http://doc.302.ai/288853804e0 (POST /v1/images/generations?response_format=url&async=false);
--   https://share.apifox.cn/apidoc/docs-site/4012774/393804752e0 (POST /v1/messages, Claude format, Bearer)
-- Auth: Authorization: Bearer <key> (also on the Claude-format /v1/messages; a client's x-api-key is
--   read as the key and sent on as Bearer).
-- Endpoints: chat/completions, embeddings, images/generations, messages.
-- Quirks: 302.AI routes to many vendors' models under one key and adds prompt-based tool calling to
--   models that lack it. Image generation takes 302's own query parameters (response_format, async),
--   passed on unchanged. For messages the client's anthropic-version / anthropic-beta go on.
-- Not verified: the paths of 302.AI's "Models (List models)", "Responses" and audio pages (the
--   reference lists them but I could not read their URLs), so models, responses and audio/* are
--   not declared; 302's many vendor-native routes (/302/…, Midjourney, …) are not OpenAI-shaped.
local compat = require("openai_compatible")

return compat.provider {
  name = "302.AI",
  base_url = "https://api.302.ai/v1",
  endpoints = { "chat/completions", "embeddings", "images/generations", "messages" },
  client_headers = { "anthropic-version", "anthropic-beta" },
  docs = "https://302ai-en.apifox.cn",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "aggregator (many vendors, one key); Claude-format /v1/messages too",
}
