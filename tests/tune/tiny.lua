-- The tuner's test network: a 3x3 conv, a stride-2 1x1 and a 4x4 plane
-- (row, packed-stride and plane passes), small enough to tune in seconds.
local x = input{16, 16, 3, batch = 2}
x = relu(bn(conv(x, 16, 3, {pad = 1, name = "c1"}), {name = "b1"}))
x = relu(bn(conv(x, 32, 1, {stride = 2, name = "c2"}), {name = "b2"}))
x = relu(bn(conv(x, 32, 3, {stride = 2, pad = 1, name = "c3"}), {name = "b3"}))
return softmax_cross_entropy(fc(global_avgpool(x), 3, {name = "fc"}))
