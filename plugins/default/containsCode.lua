-- default.containsCode: the text contains a fenced code block (```lang ... ```) in `format`
-- (Portkey's names: "SQL", "Python", "JavaScript", ...; the fence's tag is mapped, e.g. py -> Python).
local util = require("check_util")

local LANGUAGES = {
  sql = "SQL", py = "Python", python = "Python", ts = "TypeScript", typescript = "TypeScript",
  js = "JavaScript", javascript = "JavaScript", java = "Java", cs = "C#", csharp = "C#", cpp = "C++",
  c = "C", rb = "Ruby", ruby = "Ruby", php = "PHP", swift = "Swift", kt = "Kotlin", kotlin = "Kotlin",
  go = "Go", rs = "Rust", rust = "Rust", scala = "Scala", r = "R", pl = "Perl", perl = "Perl",
  sh = "Shell", bash = "Shell", shell = "Shell", html = "HTML", css = "CSS", xml = "XML", json = "JSON",
  yml = "YAML", yaml = "YAML", md = "Markdown", markdown = "Markdown", dockerfile = "Dockerfile",
}

return {
  description = "Checks if the content contains code of format SQL, Python, TypeScript, etc.",
  parameters = { format = "string", ["not"] = "boolean?", failOnError = "boolean?" },
  check = function(ctx, params, event)
    local format = params.format
    if format == "" then error("Missing required parameter: format", 0) end
    local text = util.text(ctx, event)
    local found = gw.json.array({})
    -- ```tag\n ... \n```  (the tag is a run of word characters, as Portkey's /```(\w+)\n[\s\S]*?\n```/)
    for tag in text:gmatch("```([%w_]+)\n.-\n```") do
      local lower = tag:lower()
      found[#found + 1] = LANGUAGES[lower] or lower
    end
    local has = false
    for _, language in ipairs(found) do
      if language == format then has = true end
    end
    local negate = params["not"] == true
    local verdict = has ~= negate
    local explanation
    if #found == 0 then
      explanation = "No code blocks found in the text"
    else
      explanation = has and ("Found code block(s) in " .. format .. " format")
        or ("No code blocks in " .. format .. " format found")
    end
    return {
      verdict = verdict,
      data = { explanation = explanation, searchedFormat = format, foundFormats = found, ["not"] = negate,
               textExcerpt = util.excerpt(text) },
    }
  end,
}
