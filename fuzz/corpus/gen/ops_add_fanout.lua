-- add, and values read by more than one layer: two convs read the input (their
-- gradients are summed into it), y is read by relu and by add.
local x = input{5, 5, 3, batch = 3}
local a = conv(x, 17, 3, {pad = 1, bias = true})
local b = conv(x, 17, 1, {bias = true})
local y = add(a, b)
y = add(relu(y), y)
x = fc(y, 4)
return softmax_cross_entropy(x)
