-- a C module: require reads .lua files only
local socket = require "socket.core"
return socket
