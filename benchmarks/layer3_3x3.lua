-- ResNet-50's layer3 3x3 convolutions (256 -> 256 at 14x14) at batch 8, by
-- themselves, for timing hand schedules of them in a trainer
-- (benchmarks/variants.sh; docs/PERFORMANCE.md).
local x = input{14, 14, 256, batch = 8}
x = relu(conv(x, 256, 3, {pad = 1}))
x = relu(conv(x, 256, 3, {pad = 1}))
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
