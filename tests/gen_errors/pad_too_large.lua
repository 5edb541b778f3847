local x = input{8, 8, 3}
x = conv(x, 4, 3, {pad = 1 << 40, name = "padded"})
return softmax_cross_entropy(fc(x, 2))
