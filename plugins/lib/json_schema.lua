-- A JSON Schema validator (draft 2020-12 vocabulary, the keywords people write by hand) for
-- values decoded by gw.json. Keywords it does not implement are refused with an error naming
-- them — a schema must not pass because part of it was skipped. `format`, `title`,
-- `description`, `default`, `examples`, `$schema`, `$id`, `$comment` are annotations (as 2020-12
-- treats `format` by default) and are accepted.
--
-- validate(schema, value) -> ok, errors (a list of { path = "/a/0", message = "..." })

local M = {}

local ANNOTATIONS = {
  ["$schema"] = true, ["$id"] = true, ["$comment"] = true, ["$defs"] = true, definitions = true,
  title = true, description = true, default = true, examples = true, format = true,
  readOnly = true, writeOnly = true, deprecated = true, ["$anchor"] = true,
}

local null = gw.json.null

local function is_array(v) return type(v) == "table" and gw.json.is_array(v) end
local function is_object(v) return type(v) == "table" and not gw.json.is_array(v) end

local function type_of(v)
  if v == null then return "null" end
  local t = type(v)
  if t == "boolean" then return "boolean" end
  if t == "string" then return "string" end
  if t == "number" then
    if math.type(v) == "integer" or v == math.floor(v) then return "integer" end
    return "number"
  end
  if t == "table" then return is_array(v) and "array" or "object" end
  return t
end

local function has_type(v, wanted)
  local actual = type_of(v)
  if wanted == actual then return true end
  if wanted == "number" and actual == "integer" then return true end
  return false
end

local function equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return a == b end
  if type(a) ~= "table" then return a == b end
  if is_array(a) ~= is_array(b) then return false end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function length(s)
  return utf8.len(s) or #s
end

local function describe(v)
  local ok, text = pcall(gw.json.encode, v)
  return ok and text or tostring(v)
end

local function resolve(root, ref)
  if ref == "#" then return root end
  local pointer = ref:match("^#(/.*)$")
  if not pointer then error("jsonSchema: only local $ref ('#/...') is supported, got '" .. ref .. "'", 0) end
  local node = root
  for token in pointer:sub(2):gmatch("[^/]+") do
    token = token:gsub("~1", "/"):gsub("~0", "~")
    if type(node) ~= "table" then node = nil break end
    local index = tonumber(token)
    node = (is_array(node) and index) and node[index + 1] or node[token]
  end
  if node == nil then error("jsonSchema: $ref '" .. ref .. "' points nowhere", 0) end
  return node
end

local validate

local KEYWORDS = {}

KEYWORDS.type = function(s, v, add)
  local wanted = s.type
  local list = type(wanted) == "table" and wanted or { wanted }
  for _, t in ipairs(list) do if has_type(v, t) then return end end
  add("must be " .. table.concat(list, " or ") .. ", got " .. type_of(v))
end
KEYWORDS.enum = function(s, v, add)
  for _, option in ipairs(s.enum) do if equal(option, v) then return end end
  add("must be one of " .. describe(s.enum))
end
KEYWORDS.const = function(s, v, add)
  if not equal(s.const, v) then add("must be " .. describe(s.const)) end
end
KEYWORDS.minimum = function(s, v, add) if type(v) == "number" and v < s.minimum then add("must be >= " .. s.minimum) end end
KEYWORDS.maximum = function(s, v, add) if type(v) == "number" and v > s.maximum then add("must be <= " .. s.maximum) end end
KEYWORDS.exclusiveMinimum = function(s, v, add)
  if type(v) == "number" and v <= s.exclusiveMinimum then add("must be > " .. s.exclusiveMinimum) end
end
KEYWORDS.exclusiveMaximum = function(s, v, add)
  if type(v) == "number" and v >= s.exclusiveMaximum then add("must be < " .. s.exclusiveMaximum) end
end
KEYWORDS.multipleOf = function(s, v, add)
  if type(v) == "number" then
    local q = v / s.multipleOf
    if q ~= math.floor(q) then add("must be a multiple of " .. s.multipleOf) end
  end
end
KEYWORDS.minLength = function(s, v, add)
  if type(v) == "string" and length(v) < s.minLength then add("must have at least " .. s.minLength .. " characters") end
end
KEYWORDS.maxLength = function(s, v, add)
  if type(v) == "string" and length(v) > s.maxLength then add("must have at most " .. s.maxLength .. " characters") end
end
KEYWORDS.pattern = function(s, v, add)
  if type(v) == "string" and not gw.regex.test(s.pattern, v) then add("must match pattern " .. s.pattern) end
end
KEYWORDS.minItems = function(s, v, add)
  if is_array(v) and #v < s.minItems then add("must have at least " .. s.minItems .. " items") end
end
KEYWORDS.maxItems = function(s, v, add)
  if is_array(v) and #v > s.maxItems then add("must have at most " .. s.maxItems .. " items") end
end
KEYWORDS.uniqueItems = function(s, v, add)
  if s.uniqueItems == true and is_array(v) then
    for i = 1, #v do for j = i + 1, #v do
      if equal(v[i], v[j]) then add("items " .. (i - 1) .. " and " .. (j - 1) .. " are equal") return end
    end end
  end
end
KEYWORDS.minProperties = function(s, v, add)
  if is_object(v) then
    local n = 0 for _ in pairs(v) do n = n + 1 end
    if n < s.minProperties then add("must have at least " .. s.minProperties .. " properties") end
  end
end
KEYWORDS.maxProperties = function(s, v, add)
  if is_object(v) then
    local n = 0 for _ in pairs(v) do n = n + 1 end
    if n > s.maxProperties then add("must have at most " .. s.maxProperties .. " properties") end
  end
end
KEYWORDS.required = function(s, v, add)
  if is_object(v) then
    for _, key in ipairs(s.required) do
      if v[key] == nil then add("must have required property '" .. key .. "'") end
    end
  end
end
KEYWORDS.properties = function(s, v, add, path, root, errors)
  if is_object(v) then
    for key, sub in pairs(s.properties) do
      if v[key] ~= nil then validate(sub, v[key], path .. "/" .. key, root, errors) end
    end
  end
end
KEYWORDS.patternProperties = function(s, v, add, path, root, errors)
  if is_object(v) then
    for pattern, sub in pairs(s.patternProperties) do
      for key, value in pairs(v) do
        if gw.regex.test(pattern, key) then validate(sub, value, path .. "/" .. key, root, errors) end
      end
    end
  end
end
KEYWORDS.additionalProperties = function(s, v, add, path, root, errors)
  if not is_object(v) then return end
  for key, value in pairs(v) do
    local known = s.properties and s.properties[key] ~= nil
    if not known and s.patternProperties then
      for pattern in pairs(s.patternProperties) do if gw.regex.test(pattern, key) then known = true end end
    end
    if not known then
      if s.additionalProperties == false then
        add("must not have additional property '" .. key .. "'")
      elseif type(s.additionalProperties) == "table" then
        validate(s.additionalProperties, value, path .. "/" .. key, root, errors)
      end
    end
  end
end
KEYWORDS.items = function(s, v, add, path, root, errors)
  if not is_array(v) then return end
  local start = s.prefixItems and #s.prefixItems or 0
  if s.items == false then
    if #v > start then add("must have at most " .. start .. " items") end
    return
  end
  if type(s.items) ~= "table" then return end
  if is_array(s.items) then error("jsonSchema: 'items' as an array is draft-07; use 'prefixItems'", 0) end
  for i = start + 1, #v do validate(s.items, v[i], path .. "/" .. (i - 1), root, errors) end
end
KEYWORDS.prefixItems = function(s, v, add, path, root, errors)
  if not is_array(v) then return end
  for i, sub in ipairs(s.prefixItems) do
    if v[i] ~= nil then validate(sub, v[i], path .. "/" .. (i - 1), root, errors) end
  end
end
KEYWORDS.contains = function(s, v, add, path, root)
  if not is_array(v) then return end
  for _, item in ipairs(v) do
    if #validate(s.contains, item, path, root, {}) == 0 then return end
  end
  add("must contain an item matching the 'contains' schema")
end
KEYWORDS.allOf = function(s, v, add, path, root, errors)
  for _, sub in ipairs(s.allOf) do validate(sub, v, path, root, errors) end
end
KEYWORDS.anyOf = function(s, v, add, path, root)
  for _, sub in ipairs(s.anyOf) do
    if #validate(sub, v, path, root, {}) == 0 then return end
  end
  add("must match a schema in anyOf")
end
KEYWORDS.oneOf = function(s, v, add, path, root)
  local matches = 0
  for _, sub in ipairs(s.oneOf) do
    if #validate(sub, v, path, root, {}) == 0 then matches = matches + 1 end
  end
  if matches ~= 1 then add("must match exactly one schema in oneOf (matched " .. matches .. ")") end
end
KEYWORDS["not"] = function(s, v, add, path, root)
  if #validate(s["not"], v, path, root, {}) == 0 then add("must not match the 'not' schema") end
end
KEYWORDS["if"] = function(s, v, add, path, root, errors)
  if #validate(s["if"], v, path, root, {}) == 0 then
    if s["then"] ~= nil then validate(s["then"], v, path, root, errors) end
  elseif s["else"] ~= nil then
    validate(s["else"], v, path, root, errors)
  end
end
KEYWORDS["then"] = function() end
KEYWORDS["else"] = function() end
KEYWORDS["$ref"] = function(s, v, add, path, root, errors)
  validate(resolve(root, s["$ref"]), v, path, root, errors)
end

validate = function(schema, value, path, root, errors)
  if schema == true then return errors end
  if schema == false then
    errors[#errors + 1] = { path = path, message = "no value is allowed here" }
    return errors
  end
  if type(schema) ~= "table" or is_array(schema) then
    error("jsonSchema: a schema must be an object or a boolean at '" .. (path == "" and "/" or path) .. "'", 0)
  end
  local function add(message)
    errors[#errors + 1] = { path = path == "" and "/" or path, message = message }
  end
  for keyword in pairs(schema) do
    local rule = KEYWORDS[keyword]
    if rule then
      rule(schema, value, add, path, root, errors)
    elseif not ANNOTATIONS[keyword] then
      error("jsonSchema: the keyword '" .. tostring(keyword) .. "' is not supported", 0)
    end
  end
  return errors
end

function M.validate(schema, value)
  local errors = validate(schema, value, "", schema, {})
  return #errors == 0, errors
end

return M
