-- recursion through a metamethod, i.e. through C
local t = setmetatable({}, {__index = function(t, key) return t[key .. "x"] end})
return t.a
