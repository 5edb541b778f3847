-- BN where lowering cannot fuse all of it: on the input (statistics from the
-- tensor itself, no conv sums), after a conv read twice, added to a plain
-- shortcut without a relu, and read by two layers (nothing fused after it).
local x = input{6, 6, 5, batch = 2}
x = bn(x, {name = "bn_in"})
local y = conv(x, 8, 3, {pad = 1, name = "c1"})
local a = bn(y, {name = "b1"})
local z = relu(conv(y, 8, 1, {name = "c2"}))
local s = add(a, z)
local t = bn(s, {name = "b2"})
local u = add(relu(t), t)
return softmax_cross_entropy(fc(global_avgpool(u), 3))
