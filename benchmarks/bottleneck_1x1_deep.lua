-- The 1x1 convolutions of ResNet-50's layer3 and layer4 bottlenecks at batch
-- 8, by themselves: 256 -> 1024 -> 256 -> 1024 channels at 14x14, then 512
-- -> 2048 -> 512 -> 2048 at 7x7, for timing hand schedules of them in a
-- trainer (benchmarks/variants.sh; docs/PERFORMANCE.md).
local x = input{14, 14, 256, batch = 8}
x = relu(conv(x, 1024, 1))
x = relu(conv(x, 256, 1))
x = relu(conv(x, 1024, 1))
x = relu(conv(x, 512, 1, {stride = 2}))
x = relu(conv(x, 2048, 1))
x = relu(conv(x, 512, 1))
x = conv(x, 2048, 1)
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
