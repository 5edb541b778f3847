-- Rows wider than a register tile of the convolution kernels (at most 20
-- pixels at avx512, 10 at avx2 and generic: the accumulators that fit):
-- 37 pixels, a prime, so every row is cut into several tiles and a shorter
-- last one; then a stride-2 conv, whose backward-data runs in stride phases
-- over the 37 columns.
local x = input{5, 37, 3, batch = 2}
x = conv(x, 16, 3, {pad = 1})
x = relu(x)
x = conv(x, 20, 3, {stride = 2, pad = 1})  -- 5x37 -> 3x19
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
