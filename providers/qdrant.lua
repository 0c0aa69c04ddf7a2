-- Qdrant — the vector database's REST API, on the user's own server or Qdrant Cloud cluster.
-- Reference: https://api.qdrant.tech/api-reference (e.g. collections/get-collections: GET /collections,
--   auth "api-key header"), https://qdrant.tech/documentation/cloud/authentication/ (the header
--   `api-key: <key>`; Qdrant also takes Authorization: Bearer <key>).
--
-- No default host: x-portkey-custom-host is required (400 without it) — the cluster URL, e.g.
-- https://xyz-example.eu-central.aws.cloud.qdrant.io:6333, or http://localhost:6333.
-- Passthrough only: GET /v1/collections → {custom host}/collections, POST
-- /v1/collections/{name}/points/query → …/collections/{name}/points/query, … Qdrant has no OpenAI
-- endpoint family; the OpenAI endpoints are refused (400 unsupported_endpoint).
-- The key (Authorization: Bearer <key> from the client, or a virtual key) is sent as `api-key: <key>`,
-- as Qdrant documents it (Portkey sends `api-key: Bearer <key>`, which is not Qdrant's form). A
-- server without API keys (self-hosted default) needs no key: none is sent then.
local passthrough = require("passthrough_provider")

return passthrough.provider {
  name = "Qdrant",
  host_example = "https://xyz.cloud.qdrant.io:6333",
  auth_header = "api-key", auth_prefix = "",
  requires_key = false,
  docs = "https://api.qdrant.tech/api-reference",
  auth_scheme = "api-key: <key>",
  notes = "vector database REST API, passthrough only; custom host required (the cluster URL); key optional (self-hosted without API keys)",
}
