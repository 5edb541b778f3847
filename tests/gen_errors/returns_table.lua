local x = input{8, 8, 3}
return {loss = softmax_cross_entropy(fc(x, 2))}
