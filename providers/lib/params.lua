-- Map or refuse, never drop: the enforcement of a converter's `params` declarations.
--
-- Every converter declares each top-level request field of its client dialect (its `from` side):
--
--   M.params = {
--     temperature = "mapped",                       -- translated (values the target cannot
--                                                   -- honour are refused by the converter's code)
--     logit_bias = "refused",                       -- a 400 whenever it is present
--     store = "dropped: kept by OpenAI only; …",    -- left out, with the reason written down
--   }
--
-- and calls `params.check(M, body, target)` first thing in its request translation. A field present
-- in the body (a JSON null counts as absent) that is declared "refused", or not declared at all,
-- is refused with 400 `unsupported_parameter` naming it: a field the converter does not know is a
-- field it cannot honour. A refused field with a value that asks for nothing (a penalty of 0, an
-- empty logit_bias, top_logprobs 0) passes: there is nothing to honour. The host reads the same table when it loads the converter (a value other
-- than the three forms stops the load) and `switchboard check --converters` prints it; the tables
-- in providers/README.md ("Map or refuse") are made from that output.
local compat = require("openai_compatible")

local M = {}

local null = gw.json.null

-- Values that ask for nothing: a refused field carrying one is accepted, since there is nothing to
-- honour (clients and frameworks send `presence_penalty: 0` or `logit_bias: {}` on every request).
local NEUTRAL_NUMBER = { frequency_penalty = 0, presence_penalty = 0, top_logprobs = 0 }

local function neutral(key, value)
  if NEUTRAL_NUMBER[key] ~= nil then return value == NEUTRAL_NUMBER[key] end
  if key == "logit_bias" then return type(value) == "table" and next(value) == nil end
  return false
end

-- Refuses the first refused or undeclared field of `body` (in name order, so the error is the same
-- for the same request). `converter` is the converter's module table (its `from` and `params`);
-- `target` names what the request is translated for, e.g. "provider Anthropic". `reasons` (optional)
-- maps a refused field to why, added to the message.
function M.check(converter, body, target, reasons)
  if type(body) ~= "table" then return end
  local declared = converter.params
  local refused
  for key, value in pairs(body) do
    if value ~= null and type(key) == "string" then
      local declaration = declared[key]
      if (declaration == nil or (declaration == "refused" and not neutral(key, value)))
          and (refused == nil or key < refused) then
        refused = key
      end
    end
  end
  if refused == nil then return end
  local why = declared[refused] == nil and " (the gateway does not know this field, so it cannot honour it)"
    or (reasons and reasons[refused] and (": " .. reasons[refused])) or ""
  error(compat.bad_request("parameter '" .. refused .. "' is not supported when translating " .. converter.from ..
    " for " .. target .. why, refused, "unsupported_parameter"))
end

return M
