local x = input{8, 8, 3, batch = 2}
local a = conv(x, 16, 3, {pad = 1})
local b = conv(x, 8, 3, {pad = 1})
local y = scope("layer1.0", function() return add(a, b) end)
return softmax_cross_entropy(fc(y, 2))
