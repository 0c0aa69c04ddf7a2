-- Shared helper for providers whose API has no OpenAI endpoint family (3D generation, vector
-- databases, Replicate): every /v1 path is the provider's own and goes as it is ("*" passthrough),
-- with the key in the provider's auth header. The OpenAI endpoints are not listed, so the gateway
-- refuses them (400 unsupported_endpoint) instead of sending the provider a path it does not have.
--
--   local passthrough = require("passthrough_provider")
--   return passthrough.provider { name = "Tripo3D", base_url = "https://api.tripo3d.ai/v2/openapi" }
--
-- spec: the provider table's fields (name, docs, auth_scheme, notes, …) plus
--   base_url       the default base URL; nil = the client must send x-portkey-custom-host, and a
--                  request without one is refused with 400 missing_custom_host
--   host_example   shown in that 400, e.g. "http://localhost:6333"
--   auth_header, auth_prefix, requires_key   as in openai_compatible (defaults: authorization,
--                  "Bearer ", true); with requires_key = false the header is sent only with a key
local compat = require("openai_compatible")

local M = {}

function M.provider(spec)
  local p = {}
  for key, value in pairs(spec) do
    if key ~= "host_example" then p[key] = value end
  end
  p.endpoints = { ["*"] = "passthrough" }
  p.requires_key = spec.requires_key ~= false

  local auth = compat.auth(spec)
  function p.auth(ctx)
    if not spec.base_url and not ctx.custom_host then
      error(compat.bad_request(spec.name .. " has no default host: set x-portkey-custom-host to your server" ..
        (spec.host_example and (" (e.g. " .. spec.host_example .. ")") or ""), nil, "missing_custom_host"))
    end
    return auth(ctx)
  end

  -- Unused while every path is passthrough; the contract requires it.
  function p.prepare(ctx)
    local base, headers = p.auth(ctx)
    return { url = compat.join_url(base, ctx.path, ctx.query), headers = headers }
  end

  return p
end

return M
