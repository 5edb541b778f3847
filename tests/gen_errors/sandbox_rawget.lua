-- rawget bypasses __index: the libraries are not there at all
local lib = rawget(_G, "io") or rawget(_G, "os") or rawget(_G, "package") or rawget(_G, "debug")
return lib.open("/etc/passwd")
