-- Text extraction for guardrail checks, and the setters mutators use to write text back.
--
-- Why one module: every check reads "the text" of a request or a response, and every mutator must
-- write its result back to the same place, in every wire format the gateway serves. Portkey's
-- getCurrentContentPart / setCurrentContentPart define where that text lives; this module follows
-- them and covers the formats Portkey leaves out (responses, embeddings' arrays).
--
-- Where the text lives (request_type = Portkey's names):
--   request  chatComplete  the LAST message's content: a string, or its text parts joined by "\n"
--            messages      the LAST message's content: a string, or its text blocks joined by "\n"
--            complete      `prompt`: a string, or an array of strings joined by "\n"
--            responses     `input`: a string, or the LAST input item's text (its `content` string,
--                          or its input_text/output_text/text parts joined by "\n")
--            embed         `input`: a string, or an array of strings joined by "\n"
--   response chatComplete  choices[1].message.content (a string, or text parts joined by "\n")
--            complete      choices[1].text
--            messages      the `content` blocks of type text, joined by "\n"
--            responses     the output_text parts of the `output` message items, joined by "\n"
--            embed         none (embeddings carry no text)
--
-- Each place is a list of "pieces" (one piece for a plain string). Two ways to write back:
--   map_*_text(type, json, fn)    calls fn(piece) on every piece and writes each result in place:
--                                 the per-piece rule regexReplace and piiRedact use, so a part
--                                 keeps its own text and the parts around it (images…) stay put.
--   with_*_text(type, json, text) replaces the whole text: with one piece, that piece becomes
--                                 `text`; with several text parts, the FIRST text part receives
--                                 `text` and the other text parts are removed (non-text parts keep
--                                 their place). So `*_text(with_*_text(t, j, s)) == s` always holds.
-- Both return a NEW body (the input is never modified) and, for map, whether anything changed.
-- A body with no text place (e.g. a tool-call-only message) yields nil text; the setters then
-- raise an error naming what is missing rather than inventing a place.

local M = {}

local function is_array(t)
  return type(t) == "table" and (gw.json.is_array(t) or (next(t) == nil) or t[1] ~= nil)
end

local function new_array()
  return gw.json.array({})
end

-- Deep copy keeping the array metatable (so [] stays [] when encoded).
local function copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = copy(v) end
  local mt = getmetatable(value)
  if mt then setmetatable(out, mt) end
  return out
end
M.copy = copy

local TEXT_PART_TYPES = { text = true, input_text = true, output_text = true }

local function is_text_part(part)
  return type(part) == "table" and type(part.text) == "string"
    and (part.type == nil or TEXT_PART_TYPES[part.type] == true)
end

-- A "slot" is a container table and a key whose value is a string or an array of parts.
-- pieces(slot) -> list of { holder = table, key = "text"|index } for every text piece.
local function pieces_of(container, key)
  local value = container[key]
  if type(value) == "string" then
    return { { holder = container, key = key } }
  end
  if type(value) == "table" and is_array(value) then
    local out = {}
    for i, item in ipairs(value) do
      if type(item) == "string" then
        out[#out + 1] = { holder = value, key = i }
      elseif is_text_part(item) then
        out[#out + 1] = { holder = item, key = "text" }
      end
    end
    if #out > 0 then return out end
  end
  return nil
end

local function last(list)
  if type(list) ~= "table" then return nil end
  return list[#list]
end

-- Returns the list of slots ({container, key}) holding the text of a body, or nil.
local REQUEST_SLOTS = {
  chatComplete = function(json)
    local message = last(json.messages)
    if type(message) == "table" then return { { message, "content" } } end
  end,
  complete = function(json) return { { json, "prompt" } } end,
  embed = function(json) return { { json, "input" } } end,
  responses = function(json)
    if type(json.input) == "string" then return { { json, "input" } } end
    local item = last(json.input)
    if type(item) == "table" then return { { item, "content" } } end
  end,
}
REQUEST_SLOTS.messages = REQUEST_SLOTS.chatComplete

local RESPONSE_SLOTS = {
  chatComplete = function(json)
    local choice = type(json.choices) == "table" and json.choices[1]
    if type(choice) == "table" and type(choice.message) == "table" then return { { choice.message, "content" } } end
  end,
  complete = function(json)
    local choice = type(json.choices) == "table" and json.choices[1]
    if type(choice) == "table" then return { { choice, "text" } } end
  end,
  messages = function(json) return { { json, "content" } } end,
  responses = function(json)
    local slots = {}
    if type(json.output) == "table" then
      for _, item in ipairs(json.output) do
        if type(item) == "table" and item.type == "message" then slots[#slots + 1] = { item, "content" } end
      end
    end
    return slots
  end,
  embed = function() return nil end,
}

local function collect(slots_for, request_type, json)
  if type(json) ~= "table" then return nil end
  local find = slots_for[request_type]
  if not find then return nil end
  local slots = find(json)
  if not slots then return nil end
  local all = {}
  for _, slot in ipairs(slots) do
    local found = pieces_of(slot[1], slot[2])
    if found then
      for _, piece in ipairs(found) do all[#all + 1] = piece end
    end
  end
  if #all == 0 then return nil end
  return all, slots
end

local function join(pieces)
  local texts = {}
  for i, piece in ipairs(pieces) do texts[i] = piece.holder[piece.key] end
  return table.concat(texts, "\n")
end

--- The text of a request body, or nil when it has none.
function M.request_text(request_type, json)
  local pieces = collect(REQUEST_SLOTS, request_type, json)
  return pieces and join(pieces) or nil
end

--- The text of a response body, or nil when it has none.
function M.response_text(request_type, json)
  local pieces = collect(RESPONSE_SLOTS, request_type, json)
  return pieces and join(pieces) or nil
end

--- The separate pieces (strings) of a request's text, in order: what map_request_text visits.
function M.request_pieces(request_type, json)
  local pieces = collect(REQUEST_SLOTS, request_type, json)
  local out = {}
  for i, piece in ipairs(pieces or {}) do out[i] = piece.holder[piece.key] end
  return out
end

function M.response_pieces(request_type, json)
  local pieces = collect(RESPONSE_SLOTS, request_type, json)
  local out = {}
  for i, piece in ipairs(pieces or {}) do out[i] = piece.holder[piece.key] end
  return out
end

-- A Responses body may carry the convenience field `output_text`; keep it equal to the parts.
local function refresh_output_text(request_type, json)
  if request_type == "responses" and type(json.output_text) == "string" then
    local pieces = collect(RESPONSE_SLOTS, request_type, json)
    if pieces then json.output_text = join(pieces) end
  end
end

local function map_text(slots_for, what, request_type, json, fn)
  local body = copy(json)
  local pieces = collect(slots_for, request_type, body)
  if not pieces then
    error(string.format("hook_text: this %s (%s) has no text to rewrite", what, tostring(request_type)), 0)
  end
  local changed = false
  for _, piece in ipairs(pieces) do
    local old = piece.holder[piece.key]
    local new = fn(old)
    if new ~= nil and new ~= old then
      if type(new) ~= "string" then error("hook_text: a text rewrite must return a string", 0) end
      piece.holder[piece.key] = new
      changed = true
    end
  end
  if what == "response" then refresh_output_text(request_type, body) end
  return body, changed
end

--- A copy of `json` where fn(piece) replaced every text piece of the request; also returns changed.
function M.map_request_text(request_type, json, fn)
  return map_text(REQUEST_SLOTS, "request", request_type, json, fn)
end

function M.map_response_text(request_type, json, fn)
  return map_text(RESPONSE_SLOTS, "response", request_type, json, fn)
end

local function with_text(slots_for, what, request_type, json, new_text)
  if type(new_text) ~= "string" then error("hook_text: the new text must be a string", 0) end
  local body = copy(json)
  local pieces = collect(slots_for, request_type, body)
  if not pieces then
    error(string.format("hook_text: this %s (%s) has no text to replace", what, tostring(request_type)), 0)
  end
  local first = pieces[1]
  first.holder[first.key] = new_text
  -- The other pieces are removed: from their arrays (a string in an array, or a whole text part).
  local drop = {}
  for i = 2, #pieces do drop[pieces[i].holder] = drop[pieces[i].holder] or {}; drop[pieces[i].holder][pieces[i].key] = true end
  local _, slots = collect(slots_for, request_type, body)
  for _, slot in ipairs(slots or {}) do
    local list = slot[1][slot[2]]
    if type(list) == "table" and #pieces > 1 then
      local kept = new_array()
      for i, item in ipairs(list) do
        local remove = (drop[list] and drop[list][i]) or (type(item) == "table" and drop[item] and drop[item].text)
        if not remove then kept[#kept + 1] = item end
      end
      slot[1][slot[2]] = kept
    end
  end
  if what == "response" then refresh_output_text(request_type, body) end
  return body
end

--- A copy of the request body whose text (as request_text reads it) is `new_text`.
function M.with_request_text(request_type, json, new_text)
  return with_text(REQUEST_SLOTS, "request", request_type, json, new_text)
end

--- A copy of the response body whose text (as response_text reads it) is `new_text`.
function M.with_response_text(request_type, json, new_text)
  return with_text(RESPONSE_SLOTS, "response", request_type, json, new_text)
end

--- The text a check of `event` reads from ctx: the request's before, the response's after.
function M.text(ctx, event)
  if (event or ctx.event) == "afterRequestHook" then
    return ctx.response and ctx.response.text
  end
  return ctx.request and ctx.request.text
end

--- Writes `fn` over the text of the side `event` reads; returns the transformed_data table for a
--- check result (or nil when nothing changed) and whether anything changed.
function M.map(ctx, event, fn)
  if (event or ctx.event) == "afterRequestHook" then
    local body, changed = M.map_response_text(ctx.request_type, ctx.response.json, fn)
    return changed and { response = { json = body } } or nil, changed
  end
  local body, changed = M.map_request_text(ctx.request_type, ctx.request.json, fn)
  return changed and { request = { json = body } } or nil, changed
end

--- Portkey's excerpt for `data.textExcerpt`: the first 100 characters, "..." when cut.
function M.excerpt(text)
  if type(text) ~= "string" then return "No text available" end
  if utf8.len(text) and utf8.len(text) > 100 then
    return text:sub(1, utf8.offset(text, 101) - 1) .. "..."
  end
  return text
end

return M
