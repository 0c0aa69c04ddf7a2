-- Tripo (Tripo3D) — 3D generation, asynchronous tasks: POST /task {"type": "text_to_model",
-- "prompt": …} answers {"code": 0, "data": {"task_id": …}}; GET /task/{task_id} polls it; also
-- /upload (images), /user/balance.
-- Reference: https://platform.tripo3d.ai/docs (base URL https://api.tripo3d.ai/v2/openapi, auth
--   Authorization: Bearer tsk_…). Read through Tripo's own client (VAST-AI-Research/tripo-mcp, whose
--   base URL is "as specified in the OpenAPI schema") and Portkey's tripo3d provider; Tripo's pages
--   themselves were not read.
--
-- Passthrough only: POST /v1/task → https://api.tripo3d.ai/v2/openapi/task, GET /v1/task/{id}, …
-- Tripo has no OpenAI endpoint family; the OpenAI endpoints are refused (400 unsupported_endpoint).
local passthrough = require("passthrough_provider")

return passthrough.provider {
  name = "Tripo3D",
  base_url = "https://api.tripo3d.ai/v2/openapi",
  docs = "https://platform.tripo3d.ai/docs",
  auth_scheme = "Authorization: Bearer <key>",
  notes = "3D generation tasks, passthrough only: /v1/task → https://api.tripo3d.ai/v2/openapi/task",
}
