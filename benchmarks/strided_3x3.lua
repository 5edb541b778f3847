-- ResNet-50's stride-2 3x3 convolutions (layer2.0, layer3.0 and layer4.0's
-- conv2) at batch 8, by themselves, the 1x1s between them only to widen the
-- channels, for timing hand schedules of them in a trainer
-- (benchmarks/variants.sh; docs/PERFORMANCE.md).
local x = input{56, 56, 128, batch = 8}
x = relu(conv(x, 128, 3, {stride = 2, pad = 1}))
x = relu(conv(x, 256, 1))
x = relu(conv(x, 256, 3, {stride = 2, pad = 1}))
x = relu(conv(x, 512, 1))
x = relu(conv(x, 512, 3, {stride = 2, pad = 1}))
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
