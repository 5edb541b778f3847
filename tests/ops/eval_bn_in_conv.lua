-- Evaluation applies a BN in the conv before it where it can (lower.c): not
-- where the tensor it adds is made after that conv (c1: s is c2's), and with
-- an add but no ReLU after it (c3, whose shortcut a is also read by c3).
local x = input{6, 6, 4, batch = 2}
local y = conv(x, 8, 3, {pad = 1, name = "c1"})
local s = relu(conv(x, 8, 1, {name = "c2"}))
local a = relu(add(bn(y, {name = "b1"}), s))
local z = add(bn(conv(a, 8, 3, {pad = 1, name = "c3"}), {name = "b3"}), a)
return softmax_cross_entropy(fc(global_avgpool(z), 3))
