-- The Keras tutorial's conventions: every conv has a bias (followed by bn, so
-- that gradient is exactly zero), "same" padding (asymmetric for the 7x7 stride
-- 2 stem on an even size), bn eps 1e-3 and momentum 0.01 (torch's convention),
-- a bottleneck block striding on its first 1x1 with a projection shortcut.
local function conv_bn(x, out, k, stride)
  x = conv(x, out, k, {stride = stride, pad = "same", bias = true})
  return bn(x, {eps = 1e-3, momentum = 0.01})
end

local x = input{10, 10, 3, batch = 3}
x = relu(conv_bn(x, 8, 7, 2))                         -- 10x10 -> 5x5, pad t2 l2 b3 r3
x = maxpool(x, 3, {stride = 2, pad = "same"})         -- 5x5 -> 3x3, pad 1
local out = relu(conv_bn(x, 4, 1, 2))                 -- 3x3 -> 2x2
out = relu(conv_bn(out, 4, 3, 1))
out = conv_bn(out, 16, 1, 1)
x = relu(add(out, conv_bn(x, 16, 1, 2)))
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
