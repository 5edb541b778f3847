local x = input{8, 8, 3, batch = 2}
local dead = conv(x, 4, 3, {name = "dead"})
return softmax_cross_entropy(fc(x, 2))
