local x = input{8, 8, 3}
x = conv(x, 2000000, 3, {name = "wider"})
return softmax_cross_entropy(fc(x, 2))
