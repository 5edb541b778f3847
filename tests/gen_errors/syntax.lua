local x = input{8, 8, 3}
x = conv(x, 8, 3 {pad = 1})
return softmax_cross_entropy(fc(x, 2))
