local x = input{8, 8, 3}
x = conv(x, 0, 3, {name = "empty"})
return softmax_cross_entropy(fc(x, 2))
