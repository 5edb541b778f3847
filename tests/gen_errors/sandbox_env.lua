-- a fresh _ENV reaches nothing the sandbox did not open
local _ENV = setmetatable({}, {__index = function(_, key) return rawget(_G, key) end})
return os.execute("touch /tmp/flatnet-sandbox-escaped")
