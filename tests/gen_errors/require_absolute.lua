local m = require "/etc/passwd"
return m
