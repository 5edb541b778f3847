-- A 3x3 stride-2 conv with bias on an odd 5x7 input of 3 channels (5x7 -> 3x4),
-- then fc on its 4-D output (flattened in NCHW order).
local x = input{5, 7, 3, batch = 3}
x = conv(x, 6, 3, {stride = 2, pad = 1, bias = true})
x = fc(x, 4)
return softmax_cross_entropy(x)
