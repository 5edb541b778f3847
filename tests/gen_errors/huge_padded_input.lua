local x = input{32768, 32768, 1}
return softmax_cross_entropy(fc(x, 2))
