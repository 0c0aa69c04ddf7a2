-- JSON schemas (OpenAI tools' `parameters`, response_format's json_schema) in the form Gemini's
-- `Schema` accepts (https://ai.google.dev/api/caching#Schema): a subset of OpenAPI 3.0 that answers
-- "Unknown name …" (400) for any other keyword, at any depth. Used by lib/chat_to_gemini.lua.
--
--   local schema = require("gemini_schema")
--   local converted, why = schema.convert(json_schema, "tools[0].function.parameters")
--
-- What the conversion does, at every depth (properties, items, anyOf, and what a $ref points to):
--   $ref            inlined from the document ("#/$defs/Name", "#/definitions/Name", any local JSON
--                   pointer); keywords beside the $ref win over the target's (pydantic puts a
--                   field's description there). $defs / definitions are then left out.
--   allOf           merged into the schema (properties and required united), as pydantic v1 wraps
--                   a $ref in it
--   oneOf           anyOf (Gemini's own JSON-Schema field reads oneOf as anyOf too)
--   {"type":"null"} in anyOf, and "null" in a type list: nullable = true
--   type list       ["string", "integer"] becomes anyOf of the types
--   const (string)  enum of one value; an enum of strings keeps them (a null in it: nullable), an
--                   enum of other values (an IntEnum) is left out — Schema's enum holds strings only
--   format          kept only where Gemini knows it (date-time, enum, int32, int64, float, double);
--                   others (uuid, email, date, uri, …) are refused by Gemini, so they are left out
--   anything else outside Schema's fields (additionalProperties, $schema, $id, strict, examples,
--   exclusiveMinimum, multipleOf, uniqueItems, patternProperties, not, …) is left out. These are
--   constraints Gemini's Schema cannot express: the declared drop of chat_to_gemini.
--
-- A schema Schema cannot hold returns nil and the reason ("recursive" for a $ref that refers to a
-- schema it is inside of, "too large" past MAX_NODES nodes once refs are inlined): the caller sends
-- the schema as is in Gemini's JSON-Schema fields (`parametersJsonSchema`, `responseJsonSchema`),
-- which take $ref and $defs and unroll recursion to a bounded depth. A $ref that does not resolve in
-- the document is a 400 naming `where`.
local compat = require("openai_compatible")

local M = {}

local array = gw.json.array
local is_array = gw.json.is_array

-- The fields of Gemini's Schema (v1beta and Vertex v1).
local KEPT = {
  type = true, format = true, title = true, description = true, nullable = true, enum = true,
  maxItems = true, minItems = true, properties = true, required = true, minProperties = true,
  maxProperties = true, minLength = true, maxLength = true, pattern = true, example = true,
  anyOf = true, propertyOrdering = true, default = true, items = true, minimum = true, maximum = true,
}
local FORMATS = { ["date-time"] = true, enum = true, int32 = true, int64 = true, float = true, double = true }

-- Inlining refs repeats what they point to: a document that references a big definition from
-- many places grows with every reference. Past this many nodes it goes to the JSON-Schema field.
M.MAX_NODES = 5000

local Stop = {}  -- raised (as a table) to abandon the conversion, with .why

local function stop(why) error(setmetatable({ why = why }, Stop), 0) end

-- The schema a local JSON pointer ("#/$defs/Name") names in `root`, or nil.
local function resolve(root, ref)
  if type(ref) ~= "string" or ref:sub(1, 1) ~= "#" then return nil end
  local node = root
  for token in ref:sub(2):gmatch("[^/]+") do
    token = token:gsub("~1", "/"):gsub("~0", "~")
    if type(node) ~= "table" then return nil end
    if is_array(node) then node = node[(math.tointeger(tonumber(token)) or -1) + 1] else node = node[token] end
  end
  if type(node) ~= "table" or is_array(node) then return nil end
  return node
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function is_null_type(schema)
  return type(schema) == "table" and schema.type == "null"
end

local convert

-- Schema's enum holds strings: a null in it is `nullable`; an enum with other values (numbers, an
-- IntEnum) is left out — Gemini refuses it, and the type still holds.
local function string_enum(values, out)
  if type(values) ~= "table" then return nil end
  local strings = array()
  for _, value in ipairs(values) do
    if value == gw.json.null then
      out.nullable = true
    elseif type(value) == "string" then
      strings[#strings + 1] = value
    else
      return nil
    end
  end
  return #strings > 0 and strings or nil
end

-- Merges the converted schemas of an allOf into one (properties and required united; the first
-- value wins for other keywords).
local function merge_all(list, into)
  for _, sub in ipairs(list) do
    for k, v in pairs(sub) do
      if k == "properties" then
        into.properties = into.properties or {}
        for name, property in pairs(v) do
          if into.properties[name] == nil then into.properties[name] = property end
        end
      elseif k == "required" then
        into.required = into.required or array()
        local seen = {}
        for _, name in ipairs(into.required) do seen[name] = true end
        for _, name in ipairs(v) do
          if not seen[name] then into.required[#into.required + 1] = name; seen[name] = true end
        end
      elseif into[k] == nil then
        into[k] = v
      end
    end
  end
end

function convert(node, state)
  if type(node) ~= "table" or is_array(node) then return node end
  state.nodes = state.nodes + 1
  if state.nodes > M.MAX_NODES then stop("too large") end

  local ref = node["$ref"]
  if ref ~= nil then
    if state.open[ref] then stop("recursive") end
    local target = resolve(state.root, ref)
    if not target then
      error(compat.bad_request(state.where .. ": $ref '" .. tostring(ref) ..
        "' does not name a schema in the same document", state.param, "unsupported_parameter"))
    end
    local merged = copy(target)
    for k, v in pairs(node) do if k ~= "$ref" then merged[k] = v end end
    state.open[ref] = true
    local result = convert(merged, state)
    state.open[ref] = nil
    return result
  end

  local out = {}
  for key, value in pairs(node) do
    if key == "properties" and type(value) == "table" then
      local properties = {}
      for name, property in pairs(value) do properties[name] = convert(property, state) end
      out.properties = properties
    elseif key == "items" and type(value) == "table" and not is_array(value) then
      out.items = convert(value, state)
    elseif KEPT[key] and key ~= "type" and key ~= "format" and key ~= "anyOf" and key ~= "items" then
      out[key] = value
    end
  end

  local kind = node.type
  if type(kind) == "table" then
    local types = {}
    for _, t in ipairs(kind) do
      if t == "null" then out.nullable = true else types[#types + 1] = t end
    end
    if #types == 1 then
      out.type = types[1]
    elseif #types > 1 then
      out.anyOf = array()
      for i, t in ipairs(types) do out.anyOf[i] = { type = t } end
    end
  elseif kind == "null" then
    out.nullable = true
  elseif kind ~= nil then
    out.type = kind
  end
  if type(node.const) == "string" and node.enum == nil then out.enum = array({ node.const }) end
  if out.enum ~= nil then out.enum = string_enum(out.enum, out) end
  if FORMATS[node.format] then out.format = node.format end  -- other formats are left out

  local any = node.anyOf
  if any == nil then any = node.oneOf end
  if type(any) == "table" and out.anyOf == nil then
    local list = array()
    for _, sub in ipairs(any) do
      if is_null_type(sub) then
        out.nullable = true
      else
        list[#list + 1] = convert(sub, state)
      end
    end
    if #list == 1 and type(list[1]) == "table" then
      merge_all({ list[1] }, out)  -- Optional[X]: X, nullable; the field's own keywords win
    elseif #list > 0 then
      out.anyOf = list
    end
  end

  if type(node.allOf) == "table" then
    local converted = {}
    for i, sub in ipairs(node.allOf) do converted[i] = convert(sub, state) end
    merge_all(converted, out)
  end
  return out
end

-- `schema` in Gemini's Schema form, or nil and why it cannot be (see the top of this file).
-- `where` names the schema in a 400 ("tools[0].function.parameters"), `param` the request field.
function M.convert(schema, where, param)
  local state = { root = schema, open = {}, nodes = 0, where = where, param = param }
  local ok, result = pcall(convert, schema, state)
  if ok then return result end
  if getmetatable(result) == Stop then return nil, result.why end
  error(result, 0)
end

return M
