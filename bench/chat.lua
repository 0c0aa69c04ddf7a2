-- wrk script: a small non-streaming chat completion. Upstream headers are added only when the
-- MOCK environment variable is set (gateway runs); direct runs against the mock send none.
wrk.method = "POST"
wrk.body = '{"model":"gpt-4","messages":[{"role":"user","content":"Say this is a test."}],"max_tokens":20}'
wrk.headers["Content-Type"] = "application/json"
local mock = os.getenv("MOCK")
if mock then
  wrk.headers["x-portkey-provider"] = "openai"
  wrk.headers["Authorization"] = "Bearer sk-bench"
  wrk.headers["x-portkey-custom-host"] = mock .. "/v1"
end
