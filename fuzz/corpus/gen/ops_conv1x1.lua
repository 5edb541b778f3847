-- 1x1 convolutions, batch 1: 17 channels (a multiple of no block width), then
-- 16 (a multiple of every one) at stride 2 with bias (13x13 -> 7x7).
local x = input{13, 13, 5, batch = 1}
x = conv(x, 17, 1)
x = relu(x)
x = conv(x, 16, 1, {stride = 2, bias = true})
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
