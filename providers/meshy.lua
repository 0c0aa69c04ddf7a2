-- Meshy — 3D generation (text to 3D, image to 3D, retexture, remesh, rigging, …), asynchronous
-- tasks: a POST creates a task and answers {"result": "<task id>"}, GET …/{id} polls it (or
-- GET …/{id}/stream, server-sent events).
-- Reference: Meshy's OpenAPI document https://docs.meshy.ai/openapi.yaml (human-readable: https://docs.meshy.ai;
--   base URL https://api.meshy.ai/openapi, auth Authorization: Bearer msy_…).
--
-- Passthrough only: every /v1 path goes to https://api.meshy.ai/openapi plus the path, the version
-- written by the client: POST /v1/v2/text-to-3d → https://api.meshy.ai/openapi/v2/text-to-3d,
-- POST /v1/v1/image-to-3d → …/openapi/v1/image-to-3d, GET /v1/v2/text-to-3d/{id}. Meshy has no
-- OpenAI endpoint family; the OpenAI endpoints are refused (400 unsupported_endpoint).
-- Meshy's test-mode key msy_dummy_api_key_for_test_mode_12345678 works through it like any key.
local passthrough = require("passthrough_provider")

return passthrough.provider {
  name = "Meshy",
  base_url = "https://api.meshy.ai/openapi",
  docs = "https://docs.meshy.ai/openapi.yaml",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "3D generation tasks, passthrough only: /v1/v2/text-to-3d → https://api.meshy.ai/openapi/v2/text-to-3d (the client writes Meshy's version)",
}
