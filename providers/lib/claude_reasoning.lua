-- Reasoning and prompt caching for Claude, shared by the converters from OpenAI chat completions to
-- Anthropic Messages (chat_to_anthropic: anthropic, Claude on vertex-ai) and to Bedrock Converse
-- (chat_to_bedrock_converse), and by messages_to_chat for the way back.
--
--   local reasoning = require("claude_reasoning")
--   reasoning.budget(body)                  reasoning_effort -> thinking budget_tokens (nil: none)
--   reasoning.max_tokens(max, budget, dflt) max_tokens raised above the budget when needed
--   reasoning.thinking_blocks(m, i)         an assistant message's thinking_blocks, checked
--   reasoning.cache_control(t, path)        a part's / tool's / message's cache_control, checked
--   reasoning.effort_of_budget(n)           budget_tokens -> reasoning_effort (the way back)
--   reasoning.collector()                   thinking blocks of an answer -> reasoning_content + blocks
--
-- On the OpenAI side a Claude thinking block is shown the way widely used clients (LiteLLM,
-- DeepSeek-style readers) read reasoning: `message.reasoning_content` holds the thinking text and
-- `message.thinking_blocks` the blocks verbatim — {type = "thinking", thinking, signature} or
-- {type = "redacted_thinking", data} — which a client sends back on the assistant message so a
-- tool-use turn keeps its (signed) thinking, as Anthropic requires when thinking is on.
local chat = require("openai_chat")
local validate = require("validate")

local M = {}

local null = gw.json.null
local array = gw.json.array

-- reasoning_effort -> budget_tokens. Anthropic's minimum budget is 1024; the steps follow
-- Anthropic's advice to start at the minimum and grow by factors of four.
M.BUDGETS = { minimal = 1024, low = 1024, medium = 4096, high = 16384, xhigh = 32768 }

-- The thinking budget the request asks for: nil for no reasoning_effort or "none".
function M.budget(body)
  local effort = body.reasoning_effort
  if effort == nil or effort == null or effort == "none" then return nil end
  if type(effort) ~= "string" then validate.wrong("reasoning_effort", "a string", effort) end
  local budget = M.BUDGETS[effort]
  if not budget then
    error(chat.bad_request("reasoning_effort must be none, minimal, low, medium, high or xhigh (got '" ..
      effort .. "')", "reasoning_effort"))
  end
  return budget
end

-- The Claude version in a model id, as major, minor: claude-sonnet-4-6, claude-3-7-sonnet-20250219,
-- claude-opus-4-20250514 (4, 0), claude-sonnet-4-5@20250929 (Vertex), us.anthropic.claude-opus-4-6-v1:0
-- (Bedrock). nil when the id names no version.
function M.claude_version(model)
  local rest = type(model) == "string" and model:match("claude%-(.*)$")
  if not rest then return nil end
  rest = rest:gsub("@.*$", "")
  local numbers = {}
  for token in rest:gmatch("[^%-%.:]+") do
    if token:match("^%d+$") and #token < 8 then
      numbers[#numbers + 1] = tonumber(token)
      if #numbers == 2 then break end
    elseif #numbers > 0 then
      break  -- a date, a family name or a -v1 suffix ends the version
    end
  end
  if #numbers == 0 then return nil end
  return numbers[1], numbers[2] or 0
end

-- Claude 4.6 and later take thinking {type = "adaptive"} with output_config.effort; Opus 4.7, the
-- Mythos models and Claude 5 refuse the budget form (older models know only the budget form).
function M.adaptive(model)
  if type(model) == "string" and model:find("mythos") then return true end
  local major, minor = M.claude_version(model)
  return major ~= nil and (major > 4 or (major == 4 and minor >= 6))
end

-- reasoning_effort -> output_config.effort for the adaptive form.
M.EFFORTS = { minimal = "low", low = "low", medium = "medium", high = "high", xhigh = "xhigh" }

-- What the request's reasoning_effort asks of `model`: nil for none, else a table with
--   thinking    the thinking object ({type = "enabled", budget_tokens} or {type = "adaptive"})
--   effort      output_config.effort (adaptive form only)
--   max_tokens  max_tokens to send (`max_tokens` is the client's, nil when not given)
function M.request(body, model, max_tokens, default)
  local budget = M.budget(body)
  if not budget then return nil end
  if M.adaptive(model) then
    -- No budget to keep below max_tokens; without a max the same room as the budget form.
    return { thinking = { type = "adaptive" }, effort = M.EFFORTS[body.reasoning_effort],
             max_tokens = max_tokens or budget + default }
  end
  return { thinking = { type = "enabled", budget_tokens = budget }, max_tokens = M.max_tokens(max_tokens, budget, default) }
end

-- Anthropic wants budget_tokens < max_tokens, and thinking counts toward max_tokens. A max_tokens
-- that leaves no room (or none given) becomes budget + the client's max_tokens (or the default),
-- so the visible answer keeps the room the client asked for.
function M.max_tokens(max_tokens, budget, default)
  if max_tokens == nil then return budget + default end
  if max_tokens <= budget then return budget + max_tokens end
  return max_tokens
end

-- The assistant message's thinking_blocks (as a client got them from this gateway), checked:
-- a list of {type = "thinking", thinking, signature} and {type = "redacted_thinking", data}.
-- Returns the list (nil when absent).
function M.thinking_blocks(m, index)
  local blocks = m.thinking_blocks
  if blocks == nil or blocks == null then return nil end
  local path = "messages[" .. index .. "].thinking_blocks"
  if type(blocks) ~= "table" or (not gw.json.is_array(blocks) and blocks[1] == nil and next(blocks) ~= nil) then
    validate.wrong(path, "an array", blocks)
  end
  for j, block in ipairs(blocks) do
    local at = path .. "[" .. (j - 1) .. "]"
    if type(block) ~= "table" then validate.wrong(at, "an object", block) end
    if block.type == "thinking" then
      if type(block.thinking) ~= "string" then validate.wrong(at .. ".thinking", "a string", block.thinking) end
      if type(block.signature) ~= "string" then validate.wrong(at .. ".signature", "a string", block.signature) end
    elseif block.type == "redacted_thinking" then
      if type(block.data) ~= "string" then validate.wrong(at .. ".data", "a string", block.data) end
    else
      error(chat.bad_request(at .. ".type must be thinking or redacted_thinking", "messages"))
    end
  end
  return blocks
end

-- A cache_control marker (OpenAI-style clients that target Claude put Anthropic's
-- {"type": "ephemeral"} on content parts, tool definitions and messages): nil when absent, else the
-- object, checked.
function M.cache_control(t, path)
  local marker = t.cache_control
  if marker == nil or marker == null then return nil end
  if type(marker) ~= "table" or gw.json.is_array(marker) then validate.wrong(path .. ".cache_control", "an object", marker) end
  if type(marker.type) ~= "string" then validate.wrong(path .. ".cache_control.type", "a string", marker.type) end
  return marker
end

-- budget_tokens -> reasoning_effort, for chat providers: the nearest of the steps above
-- (below 2048 low, below 8192 medium, else high).
function M.effort_of_budget(budget)
  if budget < 2048 then return "low" end
  if budget < 8192 then return "medium" end
  return "high"
end

-- Collects an answer's thinking blocks in order: add(block) with an Anthropic-shaped block;
-- finish(message) sets message.reasoning_content (the thinking text, joined) and
-- message.thinking_blocks when there were any.
function M.collector()
  local c = { blocks = array(), text = {} }
  function c.add(block)
    c.blocks[#c.blocks + 1] = block
    if block.type == "thinking" and block.thinking ~= "" then c.text[#c.text + 1] = block.thinking end
  end
  function c.finish(message)
    if #c.blocks == 0 then return end
    message.reasoning_content = table.concat(c.text, "\n\n")
    message.thinking_blocks = c.blocks
  end
  return c
end

-- The usage's reasoning tokens (Anthropic's usage.output_tokens_details.thinking_tokens) as
-- OpenAI's completion_tokens_details.reasoning_tokens.
function M.add_reasoning_tokens(usage, details)
  if type(details) == "table" and math.type(details.thinking_tokens) == "integer" then
    usage.completion_tokens_details = { reasoning_tokens = details.thinking_tokens }
  end
  return usage
end

return M
