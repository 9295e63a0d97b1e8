-- lua_errors.lua: Lua's error paths, for scripts/check-real-program. Every
-- error is a longjmp in the interpreter (luaD_throw), from frames deep in
-- it to a protected call; so is every coroutine yield. Prints one number,
-- the same for every build of the interpreter.
--   lua lua_errors.lua [N]      (N: rounds, 20000 by default)
local N = tonumber(arg and arg[1]) or 20000
local acc = 0
-- errors thrown through C frames (longjmp), nested pcall
local function thrower(d) if d == 0 then error({code = d}) end return thrower(d - 1) + 1 end
for i = 1, N do
  local ok, e = pcall(thrower, i % 7)
  acc = acc + (ok and 1 or 0) + (type(e) == "table" and e.code or 0)
  local ok2, e2 = pcall(function() return pcall(error, "x" .. i) end)
  acc = acc + #tostring(e2)
end
-- errors from inside C callbacks: sort comparator, gsub callback, metamethods
for i = 1, N // 10 do
  local t = {}
  for j = 1, 20 do t[j] = (j * 7919 + i) % 101 end
  local ok = pcall(table.sort, t, function(a, b) if a == 50 then error("cmp") end return a < b end)
  local ok3 = pcall(string.gsub, "hello world " .. i, "%w+", function(w) if #w > 4 and i % 3 == 0 then error("g") end return w:upper() end)
  local mt = setmetatable({}, {__index = function(_, k) if k == "boom" then error("idx") end return k end})
  local ok4 = pcall(function() return mt.boom end)
  acc = acc + (ok and 1 or 0) + (ok3 and 1 or 0) + (ok4 and 1 or 0) + #mt.fine
end
-- coroutines: yields across pcall, errors inside coroutines
for i = 1, N // 5 do
  local co = coroutine.wrap(function(a)
    for k = 1, 5 do
      local ok, v = pcall(coroutine.yield, a + k)
      a = a + (v or 0)
    end
    if i % 4 == 0 then error("co") end
    return a
  end)
  local ok, v = pcall(function() local s = co(i) for k = 1, 6 do s = co(k) end return s end)
  acc = acc + (ok and v or 1)
end
-- C stack overflow and deep recursion through C (string.gsub nested)
local function deep(n) return string.gsub("a", "a", function() return deep(n + 1) end) end
for i = 1, 20 do local ok, e = pcall(deep, 0) acc = acc + (ok and 0 or 1) end
-- GC with finalizers that error (warnings off)
for i = 1, N // 10 do setmetatable({}, {__gc = function() error("gc") end}) end
collectgarbage()
print(acc)
