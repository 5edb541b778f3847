-- TensorFlow "same" padding, which is asymmetric at stride 2 (the extra row
-- and column at the bottom and right), here with different top and left pads.
local x = input{8, 5, 4, batch = 3}
x = conv(x, 5, 3, {stride = 2, pad = "same", bias = true}) -- 8x5 -> 4x3, pad t0 l1 b1 r1
x = relu(x)
x = conv(x, 8, 3, {pad = "same"})                          -- 4x3 -> 4x3, pad 1
x = maxpool(x, 3, {stride = 2, pad = "same"})              -- 4x3 -> 2x2, pad t0 l1 b1 r1
x = conv(x, 6, 1, {stride = 2, pad = "same"})              -- 2x2 -> 1x1, no pad
x = fc(x, 3)
return softmax_cross_entropy(x)
