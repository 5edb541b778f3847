-- The network fuzz_checkpoint loads checkpoints into: one conv, BN, fc.
local x = input{4, 4, 3, batch = 2}
x = relu(bn(conv(x, 4, 3, {pad = 1, name = "conv1"}), {name = "bn1"}))
x = fc(global_avgpool(x), 3, {name = "fc"})
return softmax_cross_entropy(x)
