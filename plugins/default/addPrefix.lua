-- default.addPrefix (mutator, before-request): puts `prefix` in front of the prompt.
--   chatComplete: the first message with role `applyToRole` (default "user") gets the prefix in
--     front of its content (`addToExisting`, default true; with text parts, in front of the first
--     text part), or a new message {role, content = prefix} is inserted before it
--     (`addToExisting: false`). With no such message, one is added (first for "system", last
--     otherwise). `onlyIfEmpty: true` only adds when no message has that role.
--   complete: the prompt (a string, or each string of an array) gets the prefix.
--   Other request types are left as they are and the data says so.
local hook_text = require("hook_text")

local function prefixed_content(content, prefix)
  if type(content) == "string" then return prefix .. content end
  if type(content) == "table" then
    local out = hook_text.copy(content)
    for _, part in ipairs(out) do
      if type(part) == "table" and type(part.text) == "string" then
        part.text = prefix .. part.text
        return out
      end
    end
    table.insert(out, 1, { type = "text", text = prefix })
    return out
  end
  return prefix
end

return {
  description = "Adds a prefix to the prompt or to a message of a role",
  events = { "beforeRequestHook" },
  parameters = { prefix = "string", applyToRole = "string?", addToExisting = "boolean?", onlyIfEmpty = "boolean?",
                 failOnError = "boolean?" },
  check = function(ctx, params)
    local prefix = params.prefix
    if prefix == "" then error("Prefix parameter is required and must be a string", 0) end
    local kind = ctx.request_type
    local json = ctx.request.json
    local role = params.applyToRole or "user"
    local add_to_existing = params.addToExisting ~= false
    local only_if_empty = params.onlyIfEmpty == true
    local data = { prefix = prefix, requestType = kind, applyToRole = role, addToExisting = add_to_existing,
                   onlyIfEmpty = only_if_empty }
    local body = hook_text.copy(json)
    if kind == "complete" then
      if type(body.prompt) == "string" then
        body.prompt = prefix .. body.prompt
      elseif type(body.prompt) == "table" then
        for i, p in ipairs(body.prompt) do
          if type(p) == "string" then body.prompt[i] = prefix .. p end
        end
      else
        error("the request has no prompt", 0)
      end
    elseif kind == "chatComplete" then
      local messages = body.messages
      if type(messages) ~= "table" then error("the request has no messages", 0) end
      local index
      for i, m in ipairs(messages) do
        if type(m) == "table" and m.role == role then index = i break end
      end
      if index then
        if only_if_empty then
          data.explanation = "A " .. role .. " message exists; onlyIfEmpty left the request as it was."
          return { verdict = true, data = data, transformed = false }
        end
        if add_to_existing then
          messages[index].content = prefixed_content(messages[index].content, prefix)
        else
          table.insert(messages, index, { role = role, content = prefix })
        end
      elseif role == "system" then
        table.insert(messages, 1, { role = role, content = prefix })
      else
        messages[#messages + 1] = { role = role, content = prefix }
      end
    else
      data.explanation = "addPrefix applies to chatComplete and complete requests; this " .. tostring(kind)
        .. " request was left as it was."
      return { verdict = true, data = data, transformed = false }
    end
    data.explanation = "Added the prefix."
    return { verdict = true, data = data, transformed = true, transformed_data = { request = { json = body } } }
  end,
}
