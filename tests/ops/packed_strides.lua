-- Strided 1x1 convolutions run flat over their pixels, packed: stride 3 from
-- 10x10 (every third pixel, 4x4 out, a small plane), then stride 2 from an odd
-- 9x9 read by both a strided conv and a 3x3 (so the packed gradient is added to
-- another's), 5x5 out: row tiles across the packed image.
local x = input{10, 10, 20, batch = 2}
local a = relu(conv(x, 24, 1, {stride = 3, bias = true}))
local y = relu(conv(x, 20, 3, {pad = 1, stride = 1}))
y = maxpool(y, 2, {stride = 1})
local b = conv(y, 18, 1, {stride = 2})
local c = conv(y, 18, 3, {stride = 2, pad = 1})
local z = relu(add(b, c))
return softmax_cross_entropy(fc(add(global_avgpool(a), global_avgpool(conv(z, 24, 1))), 5))
