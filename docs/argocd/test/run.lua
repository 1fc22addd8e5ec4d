-- Runs the Argo CD health and action tests of resource customization directories, in Argo CD's
-- layout, with a plain Lua 5.1 interpreter (Argo CD runs these scripts in gopher-lua, which is
-- Lua 5.1):
--
--   lua5.1 run.lua DIR...     DIR = .../<group>/<Kind>, holding health.lua, health_test.yaml,
--                             testdata/, and optionally actions/ with discovery.lua,
--                             action_test.yaml, <action>/action.lua and testdata/
--
-- Each object in testdata is loaded as Argo CD hands it to the scripts (YAML turned into JSON
-- turned into Lua tables), the script runs with `obj` as its only input, and the result is
-- compared exactly with the expectation: health status and message; the list of discovered
-- actions; the object an action returns. Like Argo CD's own tests, os.date is pinned to
-- "0001-01-01T00:00:00Z". Prints one line per case and "N passed, M failed"; exits 1 on any
-- failure, and on any file it cannot read.
--
-- The YAML reader takes the subset these files use: block mappings and sequences, plain and
-- quoted scalars, empty {} and [], comments. Anything else (block scalars, anchors, flow
-- collections with content, tabs) is an error, never a silent misreading.

local passed, failed = 0, 0

local function fail_hard(message)
  io.stderr:write("run.lua: " .. message .. "\n")
  os.exit(2)
end

local function read_file(path)
  local f, err = io.open(path, "r")
  if f == nil then
    fail_hard("cannot read " .. path .. ": " .. tostring(err))
  end
  local text = f:read("*a")
  f:close()
  return text
end

local function file_exists(path)
  local f = io.open(path, "r")
  if f ~= nil then
    f:close()
    return true
  end
  return false
end

-- YAML subset ----------------------------------------------------------------------------------

local function strip_comment(text)
  local quote = nil
  for i = 1, #text do
    local ch = text:sub(i, i)
    if quote then
      if ch == quote then
        quote = nil
      end
    elseif ch == '"' or ch == "'" then
      quote = ch
    elseif ch == "#" and (i == 1 or text:sub(i - 1, i - 1):match("%s")) then
      return (text:sub(1, i - 1):gsub("%s+$", ""))
    end
  end
  return (text:gsub("%s+$", ""))
end

local function parse_double_quoted(s, where)
  local out, i = {}, 2
  while i <= #s do
    local ch = s:sub(i, i)
    if ch == "\\" then
      local nxt = s:sub(i + 1, i + 1)
      local map = { n = "\n", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
      if map[nxt] == nil then
        fail_hard(where .. ": unsupported escape \\" .. nxt)
      end
      table.insert(out, map[nxt])
      i = i + 2
    elseif ch == '"' then
      if i ~= #s then
        fail_hard(where .. ": text after a quoted scalar: " .. s)
      end
      return table.concat(out)
    else
      table.insert(out, ch)
      i = i + 1
    end
  end
  fail_hard(where .. ": unterminated string: " .. s)
end

local function parse_single_quoted(s, where)
  if not s:match("'$") or #s < 2 then
    fail_hard(where .. ": unterminated string: " .. s)
  end
  local inner = s:sub(2, -2)
  if inner:gsub("''", ""):find("'") then
    fail_hard(where .. ": text after a quoted scalar: " .. s)
  end
  return (inner:gsub("''", "'"))
end

local function scalar(s, where)
  local first = s:sub(1, 1)
  if first == '"' then
    return parse_double_quoted(s, where)
  elseif first == "'" then
    return parse_single_quoted(s, where)
  elseif s == "{}" or s == "[]" then
    return {}
  elseif first:match("[%[{|>&*!%%@`]") then
    fail_hard(where .. ": unsupported YAML: " .. s)
  elseif s == "true" then
    return true
  elseif s == "false" then
    return false
  elseif s == "null" or s == "~" then
    return nil
  elseif s:match("^-?%d+$") or s:match("^-?%d+%.%d+$") then
    return tonumber(s)
  end
  return s
end

local function yaml_lines(text, path)
  local lines = {}
  local number = 0
  for raw in (text .. "\n"):gmatch("(.-)\n") do
    number = number + 1
    if raw:match("^%s*\t") then
      fail_hard(path .. ":" .. number .. ": tab in indentation")
    end
    local content = strip_comment(raw)
    local stripped = content:match("^%s*(.-)$")
    if stripped ~= "" and stripped ~= "---" then
      local indent = #content:match("^( *)")
      table.insert(lines, { number = number, indent = indent, text = stripped })
    end
  end
  return lines
end

local function is_item(text)
  return text == "-" or text:sub(1, 2) == "- "
end

-- "key: value" or "key:"; returns key, rest (nil when nothing follows the colon).
local function split_key(text)
  local key, rest
  if text:sub(1, 1) == '"' or text:sub(1, 1) == "'" then
    local q = text:sub(1, 1)
    local close = text:find(q, 2, true)
    if close == nil then
      return nil
    end
    key = text:sub(2, close - 1)
    rest = text:sub(close + 1)
    if rest:sub(1, 1) ~= ":" then
      return nil
    end
    rest = rest:sub(2)
  else
    key, rest = text:match("^([^:]+):(.*)$")
    if key == nil then
      return nil
    end
    if rest ~= "" and not rest:match("^%s") then
      return nil -- a colon inside a plain scalar, not a key
    end
  end
  rest = rest:match("^%s*(.-)$")
  if rest == "" then
    rest = nil
  end
  return key, rest
end

local function parse_yaml(text, path)
  local lines = yaml_lines(text, path)
  local pos = 1
  local block

  local function where()
    local line = lines[pos] or lines[#lines]
    return path .. ":" .. (line and line.number or 0)
  end

  local function mapping(indent)
    local result = {}
    while pos <= #lines do
      local line = lines[pos]
      if line.indent < indent or (line.indent == indent and is_item(line.text)) then
        break
      end
      if line.indent > indent then
        fail_hard(where() .. ": unexpected indentation")
      end
      local key, rest = split_key(line.text)
      if key == nil then
        fail_hard(where() .. ": expected 'key: value', got: " .. line.text)
      end
      if result[key] ~= nil then
        fail_hard(where() .. ": duplicate key " .. key)
      end
      pos = pos + 1
      if rest ~= nil then
        result[key] = scalar(rest, where())
      else
        local nxt = lines[pos]
        if nxt ~= nil and (nxt.indent > indent or (nxt.indent == indent and is_item(nxt.text))) then
          result[key] = block(nxt.indent)
        end
      end
    end
    return result
  end

  local function sequence(indent)
    local result = {}
    while pos <= #lines do
      local line = lines[pos]
      if line.indent ~= indent or not is_item(line.text) then
        if line.indent > indent then
          fail_hard(where() .. ": unexpected indentation")
        end
        break
      end
      local rest = line.text:sub(2):match("^%s*(.-)$")
      if rest == "" then
        pos = pos + 1
        local nxt = lines[pos]
        if nxt ~= nil and nxt.indent > indent then
          table.insert(result, block(nxt.indent))
        else
          fail_hard(where() .. ": empty sequence item")
        end
      elseif is_item(rest) or split_key(rest) ~= nil then
        -- "- key: value" opens a mapping whose keys sit where the text after the dash starts.
        line.indent = indent + (#line.text - #rest)
        line.text = rest
        table.insert(result, block(line.indent))
      else
        pos = pos + 1
        local value = scalar(rest, where())
        if value == nil then
          fail_hard(where() .. ": null in a sequence")
        end
        table.insert(result, value)
      end
    end
    return result
  end

  block = function(indent)
    if is_item(lines[pos].text) then
      return sequence(indent)
    end
    return mapping(indent)
  end

  if #lines == 0 then
    return {}
  end
  local value = block(lines[1].indent)
  if pos <= #lines then
    fail_hard(where() .. ": unexpected text: " .. lines[pos].text)
  end
  return value
end

-- Running the scripts --------------------------------------------------------------------------

local pinned_os = {
  date = function(format)
    if format ~= "!%Y-%m-%dT%XZ" then
      error("os.date is pinned for tests and only knows \"!%Y-%m-%dT%XZ\", not " .. tostring(format))
    end
    return "0001-01-01T00:00:00Z"
  end,
}

local function run_script(path, object)
  local chunk, err = loadfile(path)
  if chunk == nil then
    return nil, err
  end
  local env = {
    obj = object,
    ipairs = ipairs, pairs = pairs, next = next, type = type, tostring = tostring,
    tonumber = tonumber, error = error, pcall = pcall, select = select, unpack = unpack,
    string = string, table = table, math = math, os = pinned_os,
    require = function(name)
      if name == "os" then
        return pinned_os
      end
      error("require of " .. tostring(name) .. " is not available to Argo CD scripts here")
    end,
  }
  setfenv(chunk, env)
  local ok, value = pcall(chunk)
  if not ok then
    return nil, value
  end
  return value
end

local function show(value, indent)
  indent = indent or ""
  if type(value) ~= "table" then
    return type(value) == "string" and string.format("%q", value) or tostring(value)
  end
  local keys = {}
  for k in pairs(value) do
    table.insert(keys, k)
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    table.insert(parts, indent .. "  " .. tostring(k) .. ": " .. show(value[k], indent .. "  "))
  end
  return "{\n" .. table.concat(parts, "\n") .. "\n" .. indent .. "}"
end

local function equal(a, b)
  if type(a) ~= type(b) then
    return false
  end
  if type(a) ~= "table" then
    return a == b
  end
  for k, v in pairs(a) do
    if not equal(v, b[k]) then
      return false
    end
  end
  for k in pairs(b) do
    if a[k] == nil then
      return false
    end
  end
  return true
end

local function report(ok, name, detail)
  if ok then
    passed = passed + 1
    print("ok    " .. name)
  else
    failed = failed + 1
    print("FAIL  " .. name)
    print("      " .. detail:gsub("\n", "\n      "))
  end
end

local function load_object(dir, relative)
  local path = dir .. "/" .. relative
  return parse_yaml(read_file(path), path)
end

local function health_tests(dir, label)
  local spec = load_object(dir, "health_test.yaml")
  if type(spec.tests) ~= "table" or #spec.tests == 0 then
    fail_hard(dir .. "/health_test.yaml has no tests")
  end
  for _, t in ipairs(spec.tests) do
    local name = label .. " health " .. tostring(t.inputPath)
    local expected = t.healthStatus or {}
    local got, err = run_script(dir .. "/health.lua", load_object(dir, t.inputPath))
    if got == nil then
      report(false, name, "health.lua failed: " .. tostring(err))
    elseif got.status == expected.status and got.message == expected.message then
      report(true, name)
    else
      report(false, name, "expected " .. tostring(expected.status) .. ": " .. tostring(expected.message) ..
        "\ngot      " .. tostring(got.status) .. ": " .. tostring(got.message))
    end
  end
end

local function action_tests(dir, label)
  local actions = dir .. "/actions"
  if not file_exists(actions .. "/discovery.lua") then
    return
  end
  local spec = load_object(actions, "action_test.yaml")
  for _, t in ipairs(spec.discoveryTests or {}) do
    local name = label .. " discovery " .. tostring(t.inputPath)
    local got, err = run_script(actions .. "/discovery.lua", load_object(actions, t.inputPath))
    if got == nil then
      report(false, name, "discovery.lua failed: " .. tostring(err))
    else
      -- Argo CD turns the returned map into a list of actions named by their keys.
      local list = {}
      for action_name, fields in pairs(got) do
        local entry = { name = action_name }
        for k, v in pairs(fields) do
          entry[k] = v
        end
        list[action_name] = entry
        if not file_exists(actions .. "/" .. action_name .. "/action.lua") then
          report(false, name, "discovered action " .. action_name .. " has no " .. action_name .. "/action.lua")
        end
      end
      local want = {}
      for _, entry in ipairs(t.result or {}) do
        want[entry.name] = entry
      end
      if equal(list, want) then
        report(true, name)
      else
        report(false, name, "expected " .. show(want) .. "\ngot " .. show(list))
      end
    end
  end
  for _, t in ipairs(spec.actionTests or {}) do
    local name = label .. " action " .. tostring(t.action) .. " " .. tostring(t.inputPath)
    local got, err = run_script(actions .. "/" .. t.action .. "/action.lua", load_object(actions, t.inputPath))
    local want = load_object(actions, t.expectedOutputPath)
    if got == nil then
      report(false, name, "action.lua failed: " .. tostring(err))
    elseif equal(got, want) then
      report(true, name)
    else
      report(false, name, "expected " .. show(want) .. "\ngot " .. show(got))
    end
  end
end

if #arg == 0 then
  fail_hard("usage: lua5.1 run.lua DIR... (resource customization directories)")
end
for _, dir in ipairs(arg) do
  local label = dir:match("([^/]+/[^/]+)/?$") or dir
  health_tests(dir, label)
  action_tests(dir, label)
end
print(string.format("%d passed, %d failed", passed, failed))
if failed > 0 or passed == 0 then
  os.exit(1)
end
