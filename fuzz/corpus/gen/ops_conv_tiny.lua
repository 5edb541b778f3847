-- Convolutions on inputs smaller than their kernels' reach: most 3x3 taps fall
-- on padding (1x1 and 2x2 images, stride 2 onto 1x1), so backward data uses
-- only some of the transposed taps.
local x = input{2, 2, 16, batch = 3}
local a = conv(x, 16, 3, {pad = 1, name = "c2x2"})
local b = conv(relu(a), 32, 3, {stride = 2, pad = 1, name = "c2x2_s2"})
local c = conv(relu(b), 16, 3, {pad = 1, name = "c1x1"})
return softmax_cross_entropy(fc(c, 3))
