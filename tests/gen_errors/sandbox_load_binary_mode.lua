-- load refuses binary chunks even when asked for them
local chunk = string.dump(function() return 1 end)
local f, err = load(chunk, "=dumped", "b")
error(err)
