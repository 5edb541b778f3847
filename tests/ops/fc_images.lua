-- fc at a batch of 24: its forward sums 8 images a weight load (the most up
-- to 8 dividing the batch), 3 groups of them; the weight gradient a row of dw
-- at a time over all 24.
local x = input{2, 3, 10, batch = 24}
x = relu(fc(x, 9))
x = fc(x, 4)
return softmax_cross_entropy(x)
