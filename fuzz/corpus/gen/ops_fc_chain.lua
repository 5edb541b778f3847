-- fc on a 4-D input of 20 channels (a multiple of no block width, flattened in
-- NCHW order), then fc on an fc output.
local x = input{3, 5, 20, batch = 3}
x = fc(x, 7)
x = fc(x, 3)
return softmax_cross_entropy(x)
