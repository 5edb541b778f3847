local x = input{8, 8, 3, batch = 2}
x = conv(x, 4, 3, {name = "conv1"})
x = conv(x, 4, 3, {name = "conv1"})
return softmax_cross_entropy(fc(x, 2))
