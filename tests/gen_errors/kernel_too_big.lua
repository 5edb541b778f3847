local x = input{32, 32, 3}
x = conv(x, 8, 13, {pad = 6, name = "huge"})
return softmax_cross_entropy(fc(x, 2))
