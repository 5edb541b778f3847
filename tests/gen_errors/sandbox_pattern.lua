-- backtracking inside string.find: no Lua instruction runs, so only the time limit stops it
local s = string.rep("a", 5000)
return string.find(s, string.rep("(.-)", 20) .. "b")
