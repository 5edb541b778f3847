-- A BN added to its own input, and two BNs of one tensor added together: the
-- fused backward must not write one gradient through two pointers.
local x = input{5, 5, 4, batch = 3}
local c = conv(x, 8, 3, {pad = 1, name = "c"})
local y = relu(add(bn(c, {name = "b1"}), c))
local d = conv(y, 8, 1, {name = "d"})
local z = relu(add(bn(d, {name = "b2"}), bn(d, {name = "b3"})))
return softmax_cross_entropy(fc(z, 3))
