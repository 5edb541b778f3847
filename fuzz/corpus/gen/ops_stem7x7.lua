-- The ResNet stem at a small size: 7x7 stride 2 pad 3 (13x13 -> 7x7) into 20
-- channels, bn, relu, maxpool 3x3 stride 2 pad 1 (7x7 -> 4x4).
local x = input{13, 13, 3, batch = 3}
x = conv(x, 20, 7, {stride = 2, pad = 3})
x = bn(x)
x = relu(x)
x = maxpool(x, 3, {stride = 2, pad = 1})
x = global_avgpool(x)
x = fc(x, 5)
return softmax_cross_entropy(x)
