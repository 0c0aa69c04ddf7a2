-- wrk script: the chat request of chat.lua through a routing config with the response cache on, so
-- every request after the first is a cache HIT (no upstream call). Needs MOCK (the mock's URL):
--   MOCK=http://127.0.0.1:18001 wrk -t1 -c32 -d5s -s bench/cache.lua http://127.0.0.1:8787/v1/chat/completions
wrk.method = "POST"
wrk.body = '{"model":"gpt-4","messages":[{"role":"user","content":"Say this is a test."}],"max_tokens":20}'
wrk.headers["Content-Type"] = "application/json"
local mock = os.getenv("MOCK") or "http://127.0.0.1:18001"
wrk.headers["x-portkey-config"] = '{"provider":"openai","api_key":"sk-bench","custom_host":"' .. mock
  .. '/v1","cache":{"mode":"simple","max_age":600}}'
