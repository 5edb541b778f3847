-- The largest kernel gen takes, 11x11, with stride 3 and asymmetric output
-- edges: every tap table at its full size.
local x = input{17, 15, 4, batch = 2}
x = conv(x, 16, 11, {stride = 3, pad = 5, name = "big"})
return softmax_cross_entropy(fc(x, 3))
