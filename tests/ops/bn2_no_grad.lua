-- A fused bn + bn2 + add + relu whose second BN reads the input: in a trainer
-- (no input gradient) that BN's input needs no gradient, and its eps differs
-- from the first BN's (evaluation must use each BN's own).
local x = input{4, 4, 3, batch = 2}
local a = bn(x, {name = "b_in", eps = 0.5})
local b = bn(conv(x, 3, 3, {pad = 1, name = "c"}), {name = "b_c"})
return softmax_cross_entropy(fc(relu(add(a, b)), 3))
