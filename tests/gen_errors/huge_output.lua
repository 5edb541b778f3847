local x = input{64, 64, 3}
x = conv(x, 1048576, 3, {pad = 1, name = "wide"})
return softmax_cross_entropy(fc(x, 2))
