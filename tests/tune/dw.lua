-- A 1x1 from 4 input blocks to 8 on a 28x28 plane: avx512's model groups its
-- dW tasks and sweeps dY in L1 slices, zen5's gives each dW tile a task over
-- whole rows; the tuner measures each beside the other.
local x = input{28, 28, 64, batch = 1}
x = conv(x, 128, 1, {name = "c1"})
return softmax_cross_entropy(fc(global_avgpool(x), 3, {name = "fc"}))
