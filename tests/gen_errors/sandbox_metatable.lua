-- with the global table's strictness taken away, the closed libraries are still absent
local mt = getmetatable(_G)
mt.__index = nil
return io.open("/etc/passwd")
