-- a 1 GiB string: over the memory limit, the allocator refuses it
local s = string.rep("x", 1 << 30)
return s
