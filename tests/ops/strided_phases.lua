-- Strided convolutions' backward data runs a row's columns phase by phase
-- (every stride-th column, so each tap reaches every pixel of a tile): stride 3
-- from 17x17 (three phases of unequal length), then a 5x5 stride 2 from an
-- odd 6x6 width with padding 2.
local x = input{17, 17, 6, batch = 2}
x = relu(conv(x, 20, 3, {stride = 3, pad = 1, bias = true}))
x = conv(x, 17, 5, {stride = 2, pad = 2})
return softmax_cross_entropy(fc(global_avgpool(relu(x)), 4))
