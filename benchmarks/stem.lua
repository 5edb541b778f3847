-- ResNet-50's stem (conv1, 7x7/2 from 3 channels, and its max pool) at
-- 224x224 batch 8, by itself, for timing hand schedules of it in a trainer
-- (benchmarks/variants.sh; docs/PERFORMANCE.md).
local x = input{224, 224, 3, batch = 8}
x = relu(bn(conv(x, 64, 7, {stride = 2, pad = 3})))
x = maxpool(x, 3, {stride = 2, pad = 1})
x = global_avgpool(x)
x = fc(x, 3)
return softmax_cross_entropy(x)
