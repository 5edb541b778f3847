local x = input{1, 1, 3, batch = 1}
x = bn(x, {name = "norm"})
return softmax_cross_entropy(fc(x, 2))
