local x = input{5, 5, 3}
x = conv(x, 8, 7, {name = "big"})
return softmax_cross_entropy(fc(x, 2))
