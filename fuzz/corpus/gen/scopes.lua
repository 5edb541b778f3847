local p = defaults{batch = 2, classes = 3, input = {6, 6, 3}}
local x = input{p.input[1], p.input[2], p.input[3], batch = p.batch}
x = scope("stem", function() return maxpool(relu(conv(x, 4, 3, {pad = "same", bias = true})), 2) end)
local y = scope("b", function(t) return bn(conv(t, 4, 1), {eps = 1e-3, momentum = 0.01}) end, x)
x = relu(add(x, y))
print(x.shape, x.channels, tostring(x))
return softmax_cross_entropy(fc(global_avgpool(x), p.classes))
