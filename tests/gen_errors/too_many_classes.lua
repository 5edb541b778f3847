local x = input{8, 8, 3, batch = 2}
return softmax_cross_entropy(fc(x, 200000, {name = "head"}))
