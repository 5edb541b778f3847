local x = input{8, 8, 3, batch = 2}
x = scope('evil*/"', function() return conv(x, 4, 3, {pad = 1}) end)
return softmax_cross_entropy(fc(x, 2))
