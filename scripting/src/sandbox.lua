-- Redis 7.0's sandbox, built once per Lua state (chunk "=tandem", see sandbox.rs).
--
-- Redis patches its Lua with read-only tables; stock Lua 5.1 cannot refuse a write to an
-- existing key, so every protected table is replaced by an empty proxy whose metatable reads
-- through to the real table and refuses writes. The globals table itself becomes such a proxy
-- (so chunks from loadstring are sandboxed too), and the few base functions that bypass
-- metatables (next, pairs, rawget, rawset, setmetatable, getmetatable, table.insert/remove/
-- sort) see through proxies or refuse them.
--
-- Known gap: those replacements are Lua functions, so an error they raise from a tail call
-- (`return pairs(nil)`) is reported without the user's line ("on =(tail call):-1") where Redis,
-- whose originals are C functions, reports the line.
local G, load_api, handler, normalize, allow, hooks = ...

local raw_next, raw_rawget, raw_rawset = next, rawget, rawset
local raw_setmetatable, raw_getmetatable = setmetatable, getmetatable
local raw_type, raw_error, raw_tostring, raw_xpcall = type, error, tostring, xpcall
local raw_pcall, raw_pairs = pcall, pairs
local raw_insert, raw_remove, raw_sort = table.insert, table.remove, table.sort

local READONLY = "Attempt to modify a readonly table"
local real_of = raw_setmetatable({}, { __mode = "k" })
local proxy_of = {}

local function refuse_write()
  raw_error(READONLY, 2)
end

local function protect(t)
  if real_of[t] ~= nil then return t end
  local p = proxy_of[t]
  if p ~= nil then return p end
  p = {}
  proxy_of[t] = p
  real_of[p] = t
  local nested = {}
  for k, v in raw_next, t do
    if raw_type(v) == "table" then nested[#nested + 1] = k end
  end
  for i = 1, #nested do
    local k = nested[i]
    raw_rawset(t, k, protect(raw_rawget(t, k)))
  end
  local mt = raw_getmetatable(t)
  raw_setmetatable(p, { __index = t, __newindex = refuse_write, __metatable = mt and protect(mt) or false })
  return p
end

-- Move the globals into R; G stays empty and becomes R's proxy.
local R = {}
for k, v in raw_next, G do
  if allow[k] then R[k] = v end
end
local all = {}
for k in raw_next, G do all[#all + 1] = k end
for i = 1, #all do G[all[i]] = nil end

local function missing_global(_, name)
  raw_error("Script attempted to access nonexistent global variable '" .. raw_tostring(name) .. "'", 2)
end

-- Redis's pcall: an error table with an `err` field is caught as that string.
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = normalize((...))
  if raw_type(e) == "table" and real_of[e] == nil then
    local m = raw_rawget(e, "err")
    if raw_type(m) == "string" or raw_type(m) == "number" then return false, m end
  end
  return false, e
end
do
  local pcall, select = raw_pcall, R.select
  R.pcall = function(...)
    -- Redis's C pcall, called without arguments, calls its own boolean placeholder.
    if select("#", ...) == 0 then return false, "attempt to call a boolean value" end
    return pcall_result(pcall(...))
  end
end
do
  local xpcall = raw_xpcall
  R.xpcall = function(f, h)
    return xpcall(f, function(e) return h(normalize(e)) end)
  end
end
local function proxy_next(p, k) return raw_next(real_of[p], k) end
do
  local next = raw_next
  R.next = function(t, k)
    local r = real_of[t]
    if r ~= nil then return next(r, k) end
    return next(t, k)
  end
end
do
  local pairs = raw_pairs
  R.pairs = function(t)
    if real_of[t] ~= nil then return proxy_next, t, nil end
    return pairs(t)
  end
end
do
  local rawget = raw_rawget
  R.rawget = function(t, k)
    local r = real_of[t]
    if r ~= nil then return rawget(r, k) end
    return rawget(t, k)
  end
end
do
  local rawset = raw_rawset
  R.rawset = function(t, k, v)
    if real_of[t] ~= nil then raw_error(READONLY, 0) end
    return rawset(t, k, v)
  end
end
do
  local setmetatable = raw_setmetatable
  R.setmetatable = function(t, m)
    if real_of[t] ~= nil then raw_error(READONLY, 0) end
    return setmetatable(t, m)
  end
end
local string_mt
do
  local getmetatable = raw_getmetatable
  R.getmetatable = function(o)
    local r = real_of[o]
    if r ~= nil then
      local m = getmetatable(r)
      return m and protect(m)
    end
    if raw_type(o) == "string" then return string_mt end
    return getmetatable(o)
  end
end
do
  local t = R.table
  local insert, remove, sort = raw_insert, raw_remove, raw_sort
  t.insert = function(l, ...)
    if real_of[l] ~= nil then raw_error(READONLY, 0) end
    return insert(l, ...)
  end
  t.remove = function(l, ...)
    if real_of[l] ~= nil then raw_error(READONLY, 0) end
    return remove(l, ...)
  end
  t.sort = function(l, ...)
    if real_of[l] ~= nil then raw_error(READONLY, 0) end
    return sort(l, ...)
  end
end
-- Move the kill hook onto a coroutine while it runs (see hook_thread in engine.rs).
do
  local co = R.coroutine
  local create, resume = co.create, co.resume
  local hook_on, rehook, raise_string = hooks.hook_on, hooks.rehook, hooks.raise_string
  local function after_resume(...)
    rehook()
    return ...
  end
  co.resume = function(c, ...)
    hook_on(c)
    return after_resume(resume(c, ...))
  end
  local function after_wrap(ok, ...)
    rehook()
    if ok then return ... end
    local e = ...
    -- coroutine.wrap re-raises a string error with the caller's position in front.
    if raw_type(e) == "string" then raise_string(e) end
    raw_error(e, 0)
  end
  co.wrap = function(f)
    local c = create(f)
    return function(...)
      hook_on(c)
      return after_wrap(resume(c, ...))
    end
  end
end
-- No precompiled chunks: Redis's Lua parses every chunk as text (malformed bytecode can
-- corrupt memory), so a chunk starting with ESC fails as source text does there.
do
  local loadstring, load, concat, byte = R.loadstring, R.load, R.table.concat, R.string.byte
  local binary_chunk_error = hooks.binary_chunk_error
  R.loadstring = function(s, name)
    if raw_type(s) == "string" and byte(s, 1) == 27 then
      return nil, binary_chunk_error(name or s)
    end
    return loadstring(s, name)
  end
  R.load = function(f, name)
    if raw_type(f) ~= "function" then
      -- Let Lua's own argument check speak.
      return load(f, name)
    end
    local parts, n = {}, 0
    while true do
      local ok, piece = raw_pcall(f)
      if not ok then return nil, piece end
      if piece == nil or piece == "" then break end
      local t = raw_type(piece)
      if t ~= "string" and t ~= "number" then return nil, "reader function must return a string" end
      n = n + 1
      parts[n] = piece
    end
    local s = concat(parts)
    name = name or "=(load)"
    if byte(s, 1) == 27 then return nil, binary_chunk_error(name) end
    return loadstring(s, name)
  end
end
R.__redis__err__handler = handler

-- Everything reachable from the globals is read-only, the string metatable included.
real_of[G] = R
proxy_of[R] = G
raw_setmetatable(R, { __index = missing_global })
do
  local nested = {}
  for k, v in raw_next, R do
    if raw_type(v) == "table" then nested[#nested + 1] = k end
  end
  for i = 1, #nested do
    local k = nested[i]
    raw_rawset(R, k, protect(raw_rawget(R, k)))
  end
end
R._G = G
local real_string_mt = raw_getmetatable("")
string_mt = protect(real_string_mt)
local globals_mt = { __index = R, __newindex = refuse_write, __metatable = protect(raw_getmetatable(R)) }
raw_setmetatable(G, globals_mt)

-- FUNCTION LOAD runs a library's body with only `load_api` visible as globals.
local load_api_proxy = protect(load_api)
raw_setmetatable(load_api, { __index = missing_global })
if raw_type(load_api.redis) == "table" then
  raw_setmetatable(real_of[load_api.redis] or load_api.redis, { __index = missing_global })
end

local internal = {}
internal.globals = R
internal.redis = real_of[R.redis]
internal.load_redis = real_of[load_api.redis]
function internal.run_eval(f)
  return raw_xpcall(f, handler)
end
function internal.run_function(f, keys, args)
  return raw_xpcall(function() return f(keys, args) end, handler)
end
function internal.run_load(f)
  globals_mt.__index = load_api_proxy
  local ok, err = raw_xpcall(f, handler)
  globals_mt.__index = R
  return ok, err
end
return internal
