-- Milvus (and Zilliz Cloud, managed Milvus) — the vector database's RESTful API v2.
-- Reference: https://milvus.io/api-reference/restful/v2.4.x/About.md (endpoints under
--   /v2/vectordb/…, e.g. POST /v2/vectordb/collections/list {"dbName": "_default"}; auth
--   Authorization: Bearer <token>, the token being "user:password" or a Zilliz Cloud API key; no
--   credentials with Milvus's default settings).
--
-- No default host: x-portkey-custom-host is required (400 without it) — the cluster endpoint, e.g.
-- http://localhost:19530 or https://in03-….serverless.gcp-us-west1.cloud.zilliz.com.
-- Passthrough only: POST /v1/v2/vectordb/collections/list → {custom host}/v2/vectordb/collections/list,
-- POST /v1/v2/vectordb/entities/search, … (the client writes Milvus's path after /v1). Milvus has no
-- OpenAI endpoint family; the OpenAI endpoints are refused (400 unsupported_endpoint).
-- The key (Authorization: Bearer <token> from the client, or a virtual key) is sent as
-- Authorization: Bearer <token>; a server without authentication needs none, and none is sent then.
local passthrough = require("passthrough_provider")

return passthrough.provider {
  name = "Milvus",
  host_example = "http://localhost:19530",
  requires_key = false,
  docs = "https://milvus.io/api-reference/restful/v2.4.x/About.md",
  auth_scheme = "Authorization: Bearer <token> (user:password or a Zilliz Cloud API key)",
  notes = "vector database RESTful API v2, passthrough only: /v1/v2/vectordb/… → {custom host}/v2/vectordb/…; custom host required; token optional",
}
