-- The 1x1 convolutions of ResNet-50's layer1 and layer2 bottlenecks at batch
-- 8, by themselves: 64 -> 256 -> 64 -> 256 channels at 56x56, then 128 -> 512
-- -> 128 -> 512 at 28x28, for timing hand schedules of them in a trainer
-- (benchmarks/variants.sh; docs/PERFORMANCE.md).
local x = input{56, 56, 64, batch = 8}
x = relu(conv(x, 256, 1))
x = relu(conv(x, 64, 1))
x = relu(conv(x, 256, 1))
x = relu(conv(x, 128, 1, {stride = 2}))
x = relu(conv(x, 512, 1))
x = relu(conv(x, 128, 1))
x = conv(x, 512, 1)
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
