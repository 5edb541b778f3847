local x = input{8, 8, 3, batch = 2}
for i = 1, 30000 do x = relu(x) end
return softmax_cross_entropy(fc(x, 2))
