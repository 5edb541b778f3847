local x = input{8, 8, 3}
local widths = nil
x = conv(x, widths[1], 3)
return softmax_cross_entropy(fc(x, 2))
