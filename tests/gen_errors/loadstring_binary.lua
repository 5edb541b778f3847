local f = assert(load(string.dump(function() return 1 end)))
return f()
