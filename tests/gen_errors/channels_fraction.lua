local x = input{8, 8, 3}
x = conv(x, 2.5, 3, {name = "half"})
return softmax_cross_entropy(fc(x, 2))
