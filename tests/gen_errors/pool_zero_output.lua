local x = input{2, 2, 3, batch = 2}
x = maxpool(x, 3, {stride = 2, name = "pool"})
return softmax_cross_entropy(fc(x, 2))
